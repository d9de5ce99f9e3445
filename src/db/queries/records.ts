/**
 * Call records (spec §3): one record, a filtered page, and a filtered walk in voiceId order for the CSV
 * export. Every filter is optional; the record of a call exists once it is settled (`state = 'done'`).
 *
 * Paging is keyset on voiceId (`afterId`) or OFFSET (`current`); both read the partial indexes of
 * migration 007 in voiceId order, so a page costs the rows it returns plus, for OFFSET, the index entries
 * it skips (bench/records.ts measures both over 200,000 records).
 */

import type { CallRow } from '../../domain/call-record.ts';
import { CallState } from '../../domain/stored-states.ts';
import type { Queryable } from '../db.ts';
import { calleeInfoSql } from './callee-info.ts';
import { firstRow } from './rows.ts';

export type RecordRow = CallRow & {
  source_task_id: number | null;
  round: number;
  display_num: string | null;
};

export interface RecordFilter {
  accountId: number;
  /** Call time window (inclusive), epoch ms; null = unbounded. */
  from: number | null;
  to: number | null;
  taskId: number | null;
  /** The original task of a campaign: its records and those of all its recall rounds. */
  sourceTaskId: number | null;
  /** Round number (0 = the original task). */
  round: number | null;
  callStatuses: number[] | null;
  /** The first key pressed, '-1' = none. */
  feedbackValue: string | null;
  /** Digits the callee number starts with. */
  calleePrefix: string | null;
}

const recordColumns = `c.*, ${calleeInfoSql('c')} AS info, t.source_task_id, t.round,
  t.settings->>'displayNum' AS display_num`;

/** WHERE clause and its parameters; `$1` is always the account. */
function where(filter: RecordFilter): { sql: string; args: unknown[] } {
  const args: unknown[] = [filter.accountId];
  // With a task or campaign, the account is checked on the task row (once), not on each call: the count
  // is then an index-only scan of calls_task_done, with no row to read (bench/records.ts).
  const scoped = filter.taskId !== null || filter.sourceTaskId !== null;
  const parts = [scoped ? null : `c.account_id = $1`, `c.state = '${CallState.done}'`].filter(
    (part) => part !== null,
  );
  const add = (sql: (n: string) => string, value: unknown) => {
    args.push(value);
    parts.push(sql(`$${args.length}`));
  };
  if (filter.from !== null) add((n) => `c.call_time >= ${n}`, new Date(filter.from));
  if (filter.to !== null) add((n) => `c.call_time <= ${n}`, new Date(filter.to));
  if (filter.taskId !== null) {
    add((n) => `c.task_id = (SELECT id FROM tasks WHERE id = ${n} AND account_id = $1)`, filter.taskId);
  }
  if (filter.sourceTaskId !== null) {
    add(
      (n) =>
        `c.task_id IN (SELECT id FROM tasks WHERE account_id = $1 AND (id = ${n} OR source_task_id = ${n}))`,
      filter.sourceTaskId,
    );
  }
  if (filter.round !== null) {
    add((n) => `c.task_id IN (SELECT id FROM tasks WHERE account_id = $1 AND round = ${n})`, filter.round);
  }
  if (filter.callStatuses !== null) add((n) => `c.call_status = ANY(${n}::smallint[])`, filter.callStatuses);
  if (filter.feedbackValue !== null) {
    add((n) => `COALESCE(c.feedback_value, '-1') = ${n}`, filter.feedbackValue);
  }
  if (filter.calleePrefix !== null) add((n) => `starts_with(c.callee, ${n})`, filter.calleePrefix);
  return { sql: parts.join(' AND '), args };
}

export function getRecord(db: Queryable, accountId: number, voiceId: number): Promise<RecordRow | undefined> {
  return firstRow<RecordRow>(
    db,
    `SELECT ${recordColumns} FROM calls c JOIN tasks t ON t.id = c.task_id
     WHERE c.id = $1 AND c.account_id = $2 AND c.state = '${CallState.done}'`,
    [voiceId, accountId],
  );
}

export async function countRecords(db: Queryable, filter: RecordFilter): Promise<number> {
  const { sql, args } = where(filter);
  const [row] = await db.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM calls c WHERE ${sql}`,
    args,
  );
  return row?.total ?? 0;
}

/**
 * One page in voiceId order: after `afterId` (keyset) when given, else skipping `offset` records.
 * The task columns are joined after the page is chosen, so the join costs only the rows returned.
 */
export async function recordPage(
  db: Queryable,
  filter: RecordFilter,
  page: { limit: number; afterId?: number | null; offset?: number },
): Promise<RecordRow[]> {
  const { sql, args } = where(filter);
  const keyset = page.afterId !== undefined && page.afterId !== null;
  if (keyset) args.push(page.afterId);
  const after = keyset ? ` AND c.id > $${args.length}` : '';
  args.push(page.limit, keyset ? 0 : (page.offset ?? 0));
  const limit = `$${args.length - 1}`;
  const offset = `$${args.length}`;
  return db.query<RecordRow>(
    `WITH picked AS (
       SELECT c.id FROM calls c WHERE ${sql}${after} ORDER BY c.id LIMIT ${limit} OFFSET ${offset})
     SELECT ${recordColumns} FROM picked p JOIN calls c ON c.id = p.id JOIN tasks t ON t.id = c.task_id
     ORDER BY c.id`,
    args,
  );
}

/** Every matching record in voiceId order, `batch` at a time (keyset), for streaming exports. */
export async function* walkRecords(
  db: Queryable,
  filter: RecordFilter,
  batch = 2000,
): AsyncGenerator<RecordRow[]> {
  let afterId = 0;
  for (;;) {
    const rows = await recordPage(db, filter, { limit: batch, afterId });
    if (rows.length === 0) return;
    yield rows;
    afterId = rows[rows.length - 1]!.id;
    if (rows.length < batch) return;
  }
}
