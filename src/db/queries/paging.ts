/**
 * The one count-then-page shape every list endpoint uses (spec §1 paging: `current` from 1, `size`).
 * Two statements rather than `count(*) OVER ()`, because a page past the end must still report the total.
 */
import type { Queryable } from '../db.ts';

export interface PageRequest {
  current: number;
  size: number;
}

export interface Page<R> {
  total: number;
  rows: R[];
}

/**
 * `from` and `where` are fixed SQL written in this folder; `params` are bound, and the page's limit and
 * offset are appended as the next two parameters.
 */
export interface PageSql {
  select: string;
  from: string;
  where: string;
  orderBy: string;
}

export async function selectPage<R>(
  db: Queryable,
  sql: PageSql,
  params: readonly unknown[],
  page: PageRequest,
): Promise<Page<R>> {
  const [{ total } = { total: 0 }] = await db.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM ${sql.from} WHERE ${sql.where}`,
    params,
  );
  const n = params.length;
  const rows = await db.query<R>(
    `SELECT ${sql.select} FROM ${sql.from} WHERE ${sql.where} ORDER BY ${sql.orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...params, page.size, (page.current - 1) * page.size],
  );
  return { total, rows };
}

/**
 * A list statement as data: its SQL parts and how its filter binds to the parameters. The returned
 * function is the named query the routes call.
 */
export function pagedQuery<F, R>(sql: PageSql, bind: (filter: F) => readonly unknown[]) {
  return (db: Queryable, filter: F, page: PageRequest): Promise<Page<R>> =>
    selectPage<R>(db, sql, bind(filter), page);
}
