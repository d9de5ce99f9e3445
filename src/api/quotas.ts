/**
 * Per-account quotas (issue 13): how many tasks an account may have open and how many callees it may
 * have waiting, so that no tenant can pile up work without bound. Checked when a task is created (send,
 * resend), inside the creating transaction and under a per-account lock, after the new task's rows are
 * written; a breach rolls the whole request back and answers -23 naming the quota and its limit.
 */
import type { Quotas } from '../config.ts';
import type { Queryable } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import { accountQuotaUsage, lockAccountQuota } from '../db/queries/quotas.ts';
import { ApiError, ResultCode } from '../domain/errors.ts';

/** The account's own limits where set, else the service's. */
export function quotasOf(account: AccountRow, defaults: Quotas): Quotas {
  return {
    openTasks: account.max_open_tasks ?? defaults.openTasks,
    queuedCallees: account.max_queued_callees ?? defaults.queuedCallees,
  };
}

/** First statement of a task-creating transaction. */
export async function holdQuota(tx: Queryable, account: AccountRow): Promise<void> {
  await lockAccountQuota(tx, account.id);
}

/** Last statement of a task-creating transaction: throws -23 when the account is now over a quota. */
export async function checkQuotas(tx: Queryable, account: AccountRow, defaults: Quotas): Promise<void> {
  const limits = quotasOf(account, defaults);
  const usage = await accountQuotaUsage(tx, account.id);
  if (usage.openTasks > limits.openTasks) {
    throw new ApiError(
      ResultCode.limitReached,
      `openTasks: limit reached (at most ${limits.openTasks} open tasks per account: waiting, calling or paused)`,
    );
  }
  if (usage.queuedCallees > limits.queuedCallees) {
    throw new ApiError(
      ResultCode.limitReached,
      `queuedCallees: limit reached (at most ${limits.queuedCallees} callees waiting to be called per account; this task would make ${usage.queuedCallees})`,
    );
  }
}
