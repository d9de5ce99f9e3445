/**
 * A task's counters beside the same figures counted from its records: after any crash, retry or race
 * the two must be equal (spec §6: the numbers add up).
 */
import type { Db } from '../../src/db/db.ts';
import { CallStatus, dncOutcome } from '../../src/domain/outcome.ts';

export interface TaskFigures {
  call_num: number;
  success: number;
  fail: number;
  rang_num: number;
  key_feedback_num: number;
  call_duration_s: number;
  dnc_suppressed_num: number;
}

export async function countersAndRecords(
  db: Db,
  taskId: number,
): Promise<{ counters: TaskFigures; records: TaskFigures }> {
  const [counters] = await db.query<TaskFigures>(
    `SELECT call_num, success, fail, rang_num, key_feedback_num, call_duration_s::int AS call_duration_s,
       dnc_suppressed_num FROM tasks_counted WHERE id = $1`,
    [taskId],
  );
  const [records] = await db.query<TaskFigures>(
    `SELECT count(*)::int AS call_num,
       count(*) FILTER (WHERE call_status = ${CallStatus.answered})::int AS success,
       count(*) FILTER (WHERE call_status <> ${CallStatus.answered})::int AS fail,
       count(*) FILTER (WHERE ringing_time IS NOT NULL OR call_status = ${CallStatus.answered})::int AS rang_num,
       count(*) FILTER (WHERE feedback_value <> '-1')::int AS key_feedback_num,
       COALESCE(sum(call_duration), 0)::int AS call_duration_s,
       count(*) FILTER (WHERE termination_reason = '${dncOutcome.terminationReason}')::int AS dnc_suppressed_num
     FROM calls WHERE task_id = $1 AND state = 'done'`,
    [taskId],
  );
  if (!counters || !records) throw new Error(`task ${taskId} not found`);
  return { counters, records };
}
