/** A campaign = an original task and the tasks of its recall rounds; what its console view sums up. */
import { CallStatus } from '../../domain/outcome.ts';
import { CallState } from '../../domain/stored-states.ts';
import type { Queryable } from '../db.ts';
import type { TaskRow } from './tasks.ts';

/** The campaign that task `taskId` belongs to (the original first, then rounds in order). */
export async function campaignTasks(db: Queryable, accountId: number, taskId: number): Promise<TaskRow[]> {
  return db.query<TaskRow>(
    `WITH origin AS (SELECT COALESCE(source_task_id, id) AS id FROM tasks WHERE id = $2 AND account_id = $1)
     SELECT t.* FROM tasks_counted t, origin o WHERE t.account_id = $1 AND (t.id = o.id OR t.source_task_id = o.id)
     ORDER BY t.round, t.id`,
    [accountId, taskId],
  );
}

/** Distinct callees answered in any of the tasks (a callee answered in two rounds counts once). */
export async function reachedCallees(db: Queryable, taskIds: number[]): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(DISTINCT callee)::int AS n FROM calls
     WHERE task_id = ANY($1::int[]) AND state = '${CallState.done}' AND call_status = ${CallStatus.answered}`,
    [taskIds],
  );
  return row?.n ?? 0;
}

/** First and last call time of the tasks' settled calls (epoch ms), or null when none. */
export async function callTimeSpan(
  db: Queryable,
  taskIds: number[],
): Promise<{ first: number; last: number } | null> {
  const [row] = await db.query<{ first: Date | null; last: Date | null }>(
    `SELECT min(call_time) AS first, max(call_time) AS last FROM calls
     WHERE task_id = ANY($1::int[]) AND state = '${CallState.done}'`,
    [taskIds],
  );
  return row?.first && row.last ? { first: row.first.getTime(), last: row.last.getTime() } : null;
}

export interface TimelineRow {
  bucket: number;
  call_status: number | null;
  n: number;
}

/** Settled calls per `bucketSeconds` of call time and callStatus. */
export async function callTimeline(
  db: Queryable,
  taskIds: number[],
  bucketSeconds: number,
): Promise<TimelineRow[]> {
  return db.query<TimelineRow>(
    `SELECT (floor(extract(epoch FROM call_time) / $2) * $2)::bigint AS bucket, call_status, count(*)::int AS n
     FROM calls WHERE task_id = ANY($1::int[]) AND state = '${CallState.done}'
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [taskIds, bucketSeconds],
  );
}
