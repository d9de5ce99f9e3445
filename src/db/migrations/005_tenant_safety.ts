/**
 * Tenant safety (issue 13): per-account quotas, the push outbox carrying agent-ringing pushes, and the
 * index the open-task quota counts with.
 */
export const up = `
-- Per-account quotas; NULL = the service default (QUOTA_OPEN_TASKS, QUOTA_QUEUED_CALLEES).
ALTER TABLE accounts ADD COLUMN max_open_tasks integer;
ALTER TABLE accounts ADD COLUMN max_queued_callees integer;

-- 'status' rows are call records POSTed in batches; 'agent-ringing' rows are single agent-ringing pushes.
ALTER TABLE push_outbox ADD COLUMN kind text NOT NULL DEFAULT 'status';

-- Open tasks (waiting, calling, paused, submitting) of one account, for the quota check at send time.
CREATE INDEX tasks_account_open ON tasks (account_id) WHERE status IN (0, 1, 5, 6);
`;
