/** Statements of the per-account calling rules (spec §8) and of re-reading deferrals when rules change. */
import type { SendWindow } from '../../domain/task-settings.ts';
import type { Queryable } from '../db.ts';
import { accountsChanged } from './accounts.ts';

/**
 * Callees deferred under rules that changed (a task update, the account's legal window) become callable
 * again and are judged anew by the next lease; their tasks become runnable at once.
 */
export async function clearDeferrals(
  tx: Queryable,
  args: { taskIds?: readonly number[]; accountId?: number; now: number },
): Promise<void> {
  const tasks = await tx.query<{ id: number }>(
    `SELECT id FROM tasks WHERE ($1::int[] IS NULL OR id = ANY($1::int[]))
       AND ($2::int IS NULL OR account_id = $2) AND status IN (0, 1, 5)`,
    [args.taskIds ?? null, args.accountId ?? null],
  );
  const ids = tasks.map((row) => row.id);
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE calls SET not_before = '-infinity', defer_reason = NULL
     WHERE task_id = ANY($1::int[]) AND state = 'due' AND not_before > '-infinity'`,
    [ids],
  );
  await tx.query(
    'UPDATE tasks SET next_dial_at = $2 WHERE id = ANY($1::int[]) AND status = 1 AND next_dial_at > $2',
    [ids, new Date(args.now)],
  );
}

export interface AccountRules {
  legalWindow: SendWindow | null;
  maxAttemptsPerNumber: { count: number; days: number } | null;
}

/** Sets the given rules (undefined = unchanged, null = off) and returns them all. */
export async function setAccountRules(
  tx: Queryable,
  args: { accountId: number; rules: Partial<AccountRules>; now: number },
): Promise<AccountRules> {
  const { legalWindow, maxAttemptsPerNumber } = args.rules;
  const [row] = await tx.query<{
    legal_window: SendWindow | null;
    max_attempts_count: number | null;
    max_attempts_days: number | null;
  }>(
    `UPDATE accounts SET
       legal_window = CASE WHEN $2 THEN $3::jsonb ELSE legal_window END,
       max_attempts_count = CASE WHEN $4 THEN $5::int ELSE max_attempts_count END,
       max_attempts_days = CASE WHEN $4 THEN $6::int ELSE max_attempts_days END
     WHERE id = $1 RETURNING legal_window, max_attempts_count, max_attempts_days`,
    [
      args.accountId,
      legalWindow !== undefined,
      legalWindow ? JSON.stringify(legalWindow) : null,
      maxAttemptsPerNumber !== undefined,
      maxAttemptsPerNumber?.count ?? null,
      maxAttemptsPerNumber?.days ?? null,
    ],
  );
  accountsChanged();
  if (legalWindow !== undefined) await clearDeferrals(tx, { accountId: args.accountId, now: args.now });
  return accountRulesOf(row!);
}

export function accountRulesOf(row: {
  legal_window: SendWindow | null;
  max_attempts_count: number | null;
  max_attempts_days: number | null;
}): AccountRules {
  return {
    legalWindow: row.legal_window,
    maxAttemptsPerNumber:
      row.max_attempts_count !== null && row.max_attempts_days !== null
        ? { count: row.max_attempts_count, days: row.max_attempts_days }
        : null,
  };
}
