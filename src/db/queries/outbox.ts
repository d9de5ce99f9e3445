/**
 * Outbox leasing shared by the status push and the SMS sender: a due row is taken by pushing its
 * `next_at` past the lease, so a crashed sender's rows come due again on their own.
 */
import { OutboxState } from '../../domain/stored-states.ts';
import type { Queryable } from '../db.ts';

export type OutboxTable = 'push_outbox' | 'sms_outbox';

export async function leaseOutbox<R>(
  db: Queryable,
  table: OutboxTable,
  args: { now: number; leaseMs: number; limit: number; columns: string },
): Promise<R[]> {
  return db.query<R>(
    `UPDATE ${table} SET next_at = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM ${table} WHERE state = '${OutboxState.queued}' AND next_at <= $1
                  ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING ${args.columns}`,
    [new Date(args.now), new Date(args.now + args.leaseMs), args.limit],
  );
}

/** What the push outbox carries: call records (POSTed in batches) and agent-ringing pushes (one each). */
export type PushKind = 'status' | 'agent-ringing';

export interface LeasedPush {
  id: number;
  app_id: number;
  kind: PushKind;
  payload: unknown;
  attempts: number;
}

/**
 * Leases due push rows, skipping apps this sender is still delivering to: one app's slow or dead receiver
 * then holds only its own rows, and the rows of every other app keep flowing.
 */
export async function leasePushOutbox(
  db: Queryable,
  args: { now: number; leaseMs: number; limit: number; skipApps: readonly number[] },
): Promise<LeasedPush[]> {
  return db.query<LeasedPush>(
    `UPDATE push_outbox SET next_at = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM push_outbox WHERE state = '${OutboxState.queued}' AND next_at <= $1 AND app_id <> ALL($4::int[])
                  ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, app_id, kind, payload, attempts`,
    [new Date(args.now), new Date(args.now + args.leaseMs), args.limit, [...args.skipApps]],
  );
}

/** Delivered push rows. Guarded by the lease's attempt count, like `markOutboxFailed`. */
export async function markPushSent(db: Queryable, leased: Array<{ id: number; attempts: number }>) {
  await db.query(
    `UPDATE push_outbox SET state = '${OutboxState.sent}', last_error = NULL
     WHERE state = '${OutboxState.queued}' AND (id, attempts) IN (SELECT * FROM unnest($1::int[], $2::int[]))`,
    [leased.map((row) => row.id), leased.map((row) => row.attempts)],
  );
}

/** The callback URL of an app (null when it has none). */
export async function appCallbackUrl(db: Queryable, appId: number): Promise<string | null> {
  const [row] = await db.query<{ callback_url: string | null }>(
    'SELECT callback_url FROM apps WHERE id = $1',
    [appId],
  );
  return row?.callback_url ?? null;
}

/**
 * Queues the agent-ringing push of a call for its app's callback (spec §3 Agents), through the same
 * outbox, address checks and retries as status pushes. Nothing is queued when the app has no callback.
 */
export async function queueAgentRingingPush(
  db: Queryable,
  args: { callId: number; payload: Record<string, unknown>; now: number },
): Promise<void> {
  await db.query(
    `INSERT INTO push_outbox (app_id, call_id, kind, payload, next_at)
     SELECT t.app_id, c.id, 'agent-ringing', $2::jsonb || jsonb_build_object('taskId', c.task_id), $3
     FROM calls c JOIN tasks t ON t.id = c.task_id JOIN apps a ON a.id = t.app_id
     WHERE c.id = $1 AND a.callback_url IS NOT NULL`,
    [args.callId, JSON.stringify(args.payload), new Date(args.now)],
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
    `UPDATE ${table} SET state = CASE WHEN $5 THEN '${OutboxState.failed}' ELSE '${OutboxState.queued}' END, next_at = $3, last_error = $4
     WHERE state = '${OutboxState.queued}' AND (id, attempts) IN (SELECT * FROM unnest($1::int[], $2::int[]))
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

/**
 * Depth of an outbox (rows not yet delivered or given up) and the age of its oldest due row, in clock
 * ms (metrics: a growing age means the sender is stuck or the target is down).
 */
export async function outboxBacklog(
  db: Queryable,
  table: OutboxTable,
  now: number,
): Promise<{ depth: number; oldestDueMs: number }> {
  const [row] = await db.query<{ depth: string; oldest: Date | null }>(
    `SELECT count(*) AS depth, min(next_at) FILTER (WHERE next_at <= $1) AS oldest
     FROM ${table} WHERE state = 'queued'`,
    [new Date(now)],
  );
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : null;
  return { depth: Number(row?.depth ?? 0), oldestDueMs: oldest === null ? 0 : Math.max(0, now - oldest) };
}
