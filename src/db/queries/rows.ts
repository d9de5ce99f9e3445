/** The two answers a single-row lookup gives: the row (or undefined), or only whether there is one. */
import type { Queryable } from '../db.ts';

/** The first row the statement returns; undefined when it returns none. */
export async function firstRow<R>(
  db: Queryable,
  sql: string,
  params: readonly unknown[],
): Promise<R | undefined> {
  const [row] = await db.query<R>(sql, params);
  return row;
}

/** Whether the statement returns exactly one row (an ownership check on a unique key). */
export async function hasOneRow(db: Queryable, sql: string, params: readonly unknown[]): Promise<boolean> {
  const rows = await db.query(sql, params);
  return rows.length === 1;
}
