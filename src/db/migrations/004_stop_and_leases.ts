/**
 * Stop means stop, and nothing gets stuck (issue "Stop means stop"):
 *  - `tasks.next_dial_at`: when a calling task may next be leased from. NULL = nothing left to lease
 *    (drained: it finishes once its calls in flight settle). The dialer picks runnable tasks per account
 *    from a partial index, so a tick costs what it leases, not what is open; a task outside its allowed
 *    hours is pushed to its next opening instead of being looked at every tick.
 *  - agents held by a call carry a lease (`hold_owner`, `hold_call`, `hold_until`) renewed with the call's;
 *    an agent whose hold expired (its process died) reads as idle again.
 */
export const up = `
ALTER TABLE tasks ADD COLUMN next_dial_at timestamptz;
UPDATE tasks SET next_dial_at = COALESCE(started_at, created_at) WHERE status = 1;
CREATE INDEX tasks_runnable ON tasks (account_id, next_dial_at, id) WHERE status = 1 AND next_dial_at IS NOT NULL;
CREATE INDEX tasks_drained ON tasks (id) WHERE status = 1 AND next_dial_at IS NULL;
CREATE INDEX tasks_to_start ON tasks (send_time) WHERE status = 0;

ALTER TABLE sip_accounts ADD COLUMN hold_owner text;
ALTER TABLE sip_accounts ADD COLUMN hold_call integer;
ALTER TABLE sip_accounts ADD COLUMN hold_until timestamptz;
`;
