/**
 * The per-account do-not-call list (spec §8): additions and removals of up to 200,000 numbers in one
 * statement (unnest), a paged query, and the opt-out key's insert. Every change takes the account's DNC
 * lock exclusively; the hand-over to the carrier (dispatchLeased) takes it shared and reads the list
 * after it, so a number is never dialled once its addition has returned.
 */
import type { Db, Queryable } from '../db.ts';

/** First key of the two-key advisory lock (the second is the account id); distinct from migrate's. */
export const dncLockClass = 7263533;

async function lockList(tx: Queryable, accountId: number): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [dncLockClass, accountId]);
}

/** Adds numbers (digits with country code, as callees are stored); returns how many were new. */
export async function addDncNumbers(
  db: Db,
  args: { accountId: number; numbers: readonly string[]; now: number },
): Promise<number> {
  return db.transaction(async (tx) => {
    await lockList(tx, args.accountId);
    // An anti-join rather than ON CONFLICT: its per-row speculative insertion doubles the time of 200,000
    // numbers (17 s against 8 s on a loaded PGlite). No other insert can race it: the lock above is held.
    const [row] = await tx.query<{ n: number }>(
      `WITH added AS (
         INSERT INTO dnc (account_id, number, created_at)
         SELECT $1, given.n, $3 FROM (SELECT DISTINCT unnest($2::text[]) AS n) AS given
         WHERE NOT EXISTS (SELECT 1 FROM dnc d WHERE d.account_id = $1 AND d.number = given.n)
         RETURNING 1)
       SELECT count(*)::int AS n FROM added`,
      [args.accountId, args.numbers, new Date(args.now)],
    );
    return row?.n ?? 0;
  });
}

/** Removes numbers; returns how many were on the list. */
export async function deleteDncNumbers(
  db: Db,
  args: { accountId: number; numbers: readonly string[] },
): Promise<number> {
  return db.transaction(async (tx) => {
    await lockList(tx, args.accountId);
    const [row] = await tx.query<{ n: number }>(
      `WITH removed AS (
         DELETE FROM dnc WHERE account_id = $1 AND number = ANY($2::text[]) RETURNING 1)
       SELECT count(*)::int AS n FROM removed`,
      [args.accountId, args.numbers],
    );
    return row?.n ?? 0;
  });
}

export interface DncRow {
  number: string;
  created_at: Date;
}

/** One page of the list in number order; `prefix` narrows it to numbers starting with those digits. */
export async function queryDncNumbers(
  db: Queryable,
  args: { accountId: number; prefix: string | null; limit: number; offset: number },
): Promise<{ total: number; rows: DncRow[] }> {
  // "C" collation: digits sort as bytes, so [prefix, prefix + ':') is exactly the numbers with that prefix.
  const where = `account_id = $1 AND ($2::text IS NULL OR (number >= $2 AND number < $2 || ':'))`;
  const [{ total } = { total: 0 }] = await db.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM dnc WHERE ${where}`,
    [args.accountId, args.prefix],
  );
  const rows = await db.query<DncRow>(
    `SELECT number, created_at FROM dnc WHERE ${where} ORDER BY number LIMIT $3 OFFSET $4`,
    [args.accountId, args.prefix, args.limit, args.offset],
  );
  return { total, rows };
}

/** The opt-out key: the callee of call `callId` goes on its account's list at once. Idempotent. */
export async function optOutCallee(db: Db, args: { callId: number; now: number }): Promise<void> {
  await db.transaction(async (tx) => {
    const [call] = await tx.query<{ account_id: number; callee: string }>(
      'SELECT account_id, callee FROM calls WHERE id = $1',
      [args.callId],
    );
    if (!call) return;
    await lockList(tx, call.account_id);
    await tx.query(
      `INSERT INTO dnc (account_id, number, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, number) DO NOTHING`,
      [call.account_id, call.callee, new Date(args.now)],
    );
  });
}
