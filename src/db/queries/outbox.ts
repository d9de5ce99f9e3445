/**
 * Outbox leasing shared by the status push and the SMS sender: a due row is taken by pushing its
 * `next_at` past the lease, so a crashed sender's rows come due again on their own.
 */
import type { Queryable } from '../db.ts';

export type OutboxTable = 'push_outbox' | 'sms_outbox';

export async function leaseOutbox<R>(
  db: Queryable,
  table: OutboxTable,
  args: { now: number; leaseMs: number; limit: number; columns: string },
): Promise<R[]> {
  return db.query<R>(
    `UPDATE ${table} SET next_at = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ${table} WHERE state = 'queued' AND next_at <= $1
                  ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING ${args.columns}`,
    [new Date(args.now), new Date(args.now + args.leaseMs), args.limit],
  );
}

/** Exponential back-off in clock ms: 5 s, 10 s, 20 s … capped at one hour. */
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

export async function markOutboxFailed(
  db: Queryable,
  table: OutboxTable,
  args: { ids: number[]; now: number; attempts: number; error: string; giveUp: boolean },
): Promise<void> {
  await db.query(
    `UPDATE ${table} SET state = CASE WHEN $4 THEN 'failed' ELSE 'queued' END, next_at = $2, last_error = $3
     WHERE id = ANY($1::int[])`,
    [args.ids, new Date(args.now + backoffMs(args.attempts)), args.error.slice(0, 500), args.giveUp],
  );
}
