/** How a task reads on the wire: shared by the task list, the live events and the campaign view. */
import type { TaskProgressRow } from '../db/queries/progress.ts';
import { formatInZone } from '../domain/time.ts';

/** A share as a percentage with two decimals (0 when the whole is 0), as the original API reports rates. */
export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0;
}

/** A task's line in the task list (spec §3 query) and in the `task` live event. */
export function taskSummary(task: TaskProgressRow, zone: string) {
  return {
    jobId: task.id,
    taskId: task.id,
    taskName: task.name,
    status: task.status,
    rate: percent(task.call_num, task.num_cnt),
    numCnt: task.num_cnt,
    callNum: task.call_num,
    success: task.success,
    fail: task.fail,
    createdTime: formatInZone(task.created_at, zone),
    sourceTaskId: task.source_task_id ?? task.id,
    outRecallCount: task.round,
  };
}
