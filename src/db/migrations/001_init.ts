/** The initial schema. Times are timestamptz written from the injected clock, never from SQL now(). */
export const up = `
CREATE TABLE accounts (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  api_key text NOT NULL UNIQUE,
  api_secret text NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC+8',
  ip_allow_list text[] NOT NULL DEFAULT '{}',
  max_concurrency integer NOT NULL DEFAULT 30,
  calls_per_second real NOT NULL DEFAULT 10,
  -- token bucket for calls_per_second, shared by every dialer process
  dial_tokens real NOT NULL DEFAULT 0,
  tokens_at timestamptz,
  require_hmac boolean NOT NULL DEFAULT false,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL
);

CREATE TABLE apps (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  name text NOT NULL,
  callback_url text,
  created_at timestamptz NOT NULL
);

CREATE TABLE nonces (
  account_id integer NOT NULL REFERENCES accounts(id),
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, nonce)
);

CREATE TABLE voice_files (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  file_name text NOT NULL,
  format text NOT NULL,
  duration_ms integer NOT NULL,
  size_bytes integer NOT NULL,
  audio bytea NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX voice_files_name ON voice_files (account_id, file_name) WHERE NOT deleted;

CREATE TABLE seat_groups (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  app_id integer NOT NULL REFERENCES apps(id),
  group_name text NOT NULL,
  callin_strategy smallint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  UNIQUE (app_id, group_name)
);

CREATE TABLE recall_flows (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  task_id integer NOT NULL,
  recall_interval integer NOT NULL,
  recall_num smallint NOT NULL,
  recall_type smallint NOT NULL,
  status smallint NOT NULL DEFAULT 0,
  finish_num smallint NOT NULL DEFAULT 0,
  reason text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE recall_nodes (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow_id integer NOT NULL REFERENCES recall_flows(id),
  round smallint NOT NULL,
  status smallint NOT NULL DEFAULT 0,
  -- the node's own settings as given (null = falls back, see domain/recall-flow.ts)
  given jsonb,
  task_id integer,
  due_at timestamptz,
  reason text,
  updated_at timestamptz NOT NULL,
  UNIQUE (flow_id, round)
);
CREATE INDEX recall_nodes_due ON recall_nodes (due_at) WHERE status = 0 AND due_at IS NOT NULL;

CREATE TABLE tasks (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  app_id integer NOT NULL REFERENCES apps(id),
  name text NOT NULL,
  status smallint NOT NULL,
  settings jsonb NOT NULL,
  send_time timestamptz,
  flow_id integer REFERENCES recall_flows(id),
  round smallint NOT NULL DEFAULT 0,
  source_task_id integer,
  -- set once the recall flow has taken this task's end into account
  flow_closed boolean NOT NULL DEFAULT false,
  num_cnt integer NOT NULL DEFAULT 0,
  call_num integer NOT NULL DEFAULT 0,
  success integer NOT NULL DEFAULT 0,
  fail integer NOT NULL DEFAULT 0,
  rang_num integer NOT NULL DEFAULT 0,
  toseat_num integer NOT NULL DEFAULT 0,
  key_feedback_num integer NOT NULL DEFAULT 0,
  call_loss_num integer NOT NULL DEFAULT 0,
  call_duration_s bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz
);
-- task names are unique per account among the tasks clients create (recall rounds reuse the name)
CREATE UNIQUE INDEX tasks_name ON tasks (account_id, name) WHERE round = 0;
CREATE INDEX tasks_account_created ON tasks (account_id, created_at);
CREATE INDEX tasks_active ON tasks (status) WHERE status IN (0, 1, 5);
CREATE INDEX tasks_flow_open ON tasks (id) WHERE flow_id IS NOT NULL AND NOT flow_closed;

-- One row per callee per task: the callee to dial and, once dialled, its single attempt record.
CREATE TABLE calls (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id integer NOT NULL REFERENCES tasks(id),
  account_id integer NOT NULL,
  seq integer NOT NULL,
  callee text NOT NULL,
  -- the callee's text1..text10 (columns rather than JSON: COPY of 200,000 rows is several times faster)
  text1 text, text2 text, text3 text, text4 text, text5 text,
  text6 text, text7 text, text8 text, text9 text, text10 text,
  -- due -> dialling -> done; due -> cancelled
  state text NOT NULL DEFAULT 'due',
  lease_owner text,
  lease_until timestamptz,
  submit_time timestamptz,
  call_time timestamptz,
  ringing_time timestamptz,
  answer_time timestamptz,
  hangup_time timestamptz,
  ring_duration integer,
  call_duration integer,
  termination_code integer,
  termination_reason text,
  call_status smallint,
  feedback_value text,
  sms_status text,
  seat text,
  UNIQUE (task_id, callee)
);
CREATE INDEX calls_due ON calls (task_id, seq) WHERE state = 'due';
CREATE INDEX calls_inflight_task ON calls (task_id) WHERE state = 'dialling';
CREATE INDEX calls_inflight_account ON calls (account_id) WHERE state = 'dialling';
CREATE INDEX calls_lease ON calls (lease_until) WHERE state = 'dialling';
CREATE INDEX calls_account_time ON calls (account_id, call_time) WHERE call_time IS NOT NULL;

-- Status-report push outbox (spec §3): at least once, retried with back-off.
CREATE TABLE push_outbox (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id integer NOT NULL REFERENCES apps(id),
  call_id integer NOT NULL,
  payload jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_at timestamptz NOT NULL,
  lease_until timestamptz,
  last_error text,
  state text NOT NULL DEFAULT 'queued'
);
CREATE INDEX push_outbox_due ON push_outbox (next_at) WHERE state = 'queued';

-- Hang-up SMS outbox (spec §4): written in the transaction that settles the call.
CREATE TABLE sms_outbox (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id integer NOT NULL REFERENCES calls(id),
  task_id integer NOT NULL,
  trigger text NOT NULL,
  recipient text NOT NULL,
  sender_id text NOT NULL DEFAULT '',
  content text NOT NULL,
  route text,
  state text NOT NULL DEFAULT 'queued',
  attempts integer NOT NULL DEFAULT 0,
  next_at timestamptz NOT NULL,
  lease_until timestamptz,
  provider_ids text[],
  segments integer,
  last_error text,
  updated_at timestamptz NOT NULL,
  -- at most one SMS per call attempt per trigger
  UNIQUE (call_id, trigger)
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_at) WHERE state = 'queued';
CREATE INDEX sms_outbox_provider ON sms_outbox USING gin (provider_ids);
`;
