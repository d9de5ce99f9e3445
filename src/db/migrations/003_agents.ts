/**
 * Agents (spec §3 Agents, §5): SIP phone accounts bound to a seat group, their registration binding and
 * their call state. A binding's expiry and a wrap-up's end are stored as times and read lazily (see
 * src/domain/agent-state.ts), so no timer has to fire for an agent to go offline or back to idle.
 */
export const up = `
ALTER TABLE seat_groups ADD COLUMN wrapup_seconds integer NOT NULL DEFAULT 0;
-- round-robin (callinStrategy 4): the account offered a call last
ALTER TABLE seat_groups ADD COLUMN last_offered_id integer;

CREATE SEQUENCE sip_account_numbers START 100001;

CREATE TABLE sip_accounts (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts(id),
  app_id integer NOT NULL REFERENCES apps(id),
  group_id integer NOT NULL REFERENCES seat_groups(id),
  -- the SIP user name (and the API's "account"); unique across the service: it is the registrar's key
  username text NOT NULL UNIQUE DEFAULT nextval('sip_account_numbers')::text,
  password text NOT NULL,
  phone_name text NOT NULL,
  display_num text NOT NULL DEFAULT '',
  priority integer NOT NULL DEFAULT 0,
  -- offline | idle | ringing | busy | wrapup, changed only by UPDATE ... WHERE state = expected
  state text NOT NULL DEFAULT 'offline',
  state_at timestamptz NOT NULL,
  wrapup_until timestamptz,
  contact text,
  expires_at timestamptz,
  call_count integer NOT NULL DEFAULT 0,
  last_call_start timestamptz,
  last_call_end timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX sip_accounts_group ON sip_accounts (group_id, state);
CREATE INDEX sip_accounts_account ON sip_accounts (account_id, id);

-- what the agent part of a transferred call took
ALTER TABLE calls ADD COLUMN seat_wait_ms integer;
ALTER TABLE calls ADD COLUMN seat_talk_ms integer;
`;
