/**
 * Calling rules (issue 15, spec §8):
 *  - `calls.callee_zone`: the callee's zone(s) from the number, found at ingest ('&'-joined, NULL = unknown:
 *    read in the account's zone). Recall rounds copy it.
 *  - `calls.not_before`: the callee's next allowed moment. '-infinity' (the default, so a COPY writes nothing
 *    extra) = callable now. The due index leads with it after the task, so a lease reads only callable rows
 *    and a deferred callee costs nothing until its moment comes; `defer_reason` says why it waits.
 *  - `dnc`: the per-account do-not-call list, numbers as stored on calls (digits with country code). "C"
 *    collation so a prefix query is an index range.
 *  - per-account `legal_window` (callee's local time) and `max_attempts_count`/`max_attempts_days`; the
 *    attempts are counted from `calls` with the index below (only dialled rows have a call_time).
 */
export const up = `
ALTER TABLE calls ADD COLUMN callee_zone text;
ALTER TABLE calls ADD COLUMN not_before timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE calls ADD COLUMN defer_reason text;
DROP INDEX calls_due;
CREATE INDEX calls_due ON calls (task_id, not_before, seq) WHERE state = 'due';
CREATE INDEX calls_number_attempts ON calls (account_id, callee, call_time) WHERE call_time IS NOT NULL;

ALTER TABLE tasks ADD COLUMN dnc_suppressed_num integer NOT NULL DEFAULT 0;

ALTER TABLE accounts ADD COLUMN legal_window jsonb;
ALTER TABLE accounts ADD COLUMN max_attempts_count integer;
ALTER TABLE accounts ADD COLUMN max_attempts_days integer;

CREATE TABLE dnc (
  account_id integer NOT NULL REFERENCES accounts(id),
  number text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, number)
);
`;
