/** Per-account quota usage (issue 13): open tasks and callees still to be called, counted at send time. */
import { openStatuses } from '../../domain/task-status.ts';
import type { Queryable } from '../db.ts';
import { accountsChanged } from './accounts.ts';

/** Advisory-lock namespace of the quota check (the second key is the account id). */
const quotaLockSpace = 7263533;

/**
 * Serialises task creation within one account until the transaction ends, so two concurrent sends
 * cannot both pass the quota. Dialling takes the account row lock, not this one, and is never held up.
 */
export async function lockAccountQuota(tx: Queryable, accountId: number): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [quotaLockSpace, accountId]);
}

export interface QuotaUsage {
  openTasks: number;
  queuedCallees: number;
}

/** Open tasks (waiting, calling, paused, submitting) and their callees not yet settled. */
export async function accountQuotaUsage(db: Queryable, accountId: number): Promise<QuotaUsage> {
  const [row] = await db.query<{ open_tasks: number; queued: string | number }>(
    `SELECT count(*)::int AS open_tasks, COALESCE(sum(num_cnt - call_num), 0)::bigint AS queued
     FROM tasks_counted WHERE account_id = $1 AND status = ANY($2::smallint[])`,
    [accountId, openStatuses],
  );
  return { openTasks: row?.open_tasks ?? 0, queuedCallees: Number(row?.queued ?? 0) };
}

/** Sets an account's own quotas (null = the service default). */
export async function setAccountQuotas(
  db: Queryable,
  args: { accountId: number; maxOpenTasks?: number | null; maxQueuedCallees?: number | null },
): Promise<void> {
  await db.query(
    `UPDATE accounts SET
       max_open_tasks = CASE WHEN $2 THEN $3 ELSE max_open_tasks END,
       max_queued_callees = CASE WHEN $4 THEN $5 ELSE max_queued_callees END
     WHERE id = $1`,
    [
      args.accountId,
      args.maxOpenTasks !== undefined,
      args.maxOpenTasks ?? null,
      args.maxQueuedCallees !== undefined,
      args.maxQueuedCallees ?? null,
    ],
  );
  accountsChanged();
}
