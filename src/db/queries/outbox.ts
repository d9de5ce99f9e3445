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

/**
 * Records a failed delivery of leased rows and schedules the retry. `leased` pairs each id with the
 * attempts count its lease set: a sender whose lease lapsed and whose rows were taken over (attempts
 * moved on) changes nothing, so a late failure cannot re-queue what another sender already delivered.
 */
export async function markOutboxFailed(
  db: Queryable,
  table: OutboxTable,
  args: { leased: Array<{ id: number; attempts: number }>; now: number; error: string; giveUp: boolean },
): Promise<number[]> {
  const attempts = Math.max(...args.leased.map((row) => row.attempts));
  const rows = await db.query<{ id: number }>(
    `UPDATE ${table} SET state = CASE WHEN $5 THEN 'failed' ELSE 'queued' END, next_at = $3, last_error = $4
     WHERE state = 'queued' AND (id, attempts) IN (SELECT * FROM unnest($1::int[], $2::int[]))
     RETURNING id`,
    [
      args.leased.map((row) => row.id),
      args.leased.map((row) => row.attempts),
      new Date(args.now + backoffMs(attempts)),
      args.error.slice(0, 500),
      args.giveUp,
    ],
  );
  return rows.map((row) => row.id);
}
