/**
 * Adding to task counters (see migration 011 for why they are sharded). One statement for any number of
 * tasks: each delta lands on a random shard of its task; rows are written in task order so two batches
 * that pick the same shards cannot deadlock on each other.
 */
import type { Queryable } from '../db.ts';
import { taskCountShards } from '../migrations/011_task_counts.ts';

export interface TaskCountDelta {
  taskId: number;
  callNum: number;
  success: number;
  fail: number;
  rangNum: number;
  toseatNum: number;
  keyFeedbackNum: number;
  callLossNum: number;
  callDurationS: number;
  dncSuppressedNum: number;
}

export function emptyDelta(taskId: number): TaskCountDelta {
  return {
    taskId,
    callNum: 0,
    success: 0,
    fail: 0,
    rangNum: 0,
    toseatNum: 0,
    keyFeedbackNum: 0,
    callLossNum: 0,
    callDurationS: 0,
    dncSuppressedNum: 0,
  };
}

export async function addTaskCounts(
  tx: Queryable,
  deltas: Iterable<TaskCountDelta>,
  shard: number = Math.floor(Math.random() * taskCountShards),
): Promise<void> {
  const rows = [...deltas].sort((a, b) => a.taskId - b.taskId);
  if (rows.length === 0) return;
  const column = (pick: (delta: TaskCountDelta) => number) => rows.map(pick);
  await tx.query(
    `INSERT INTO task_counts AS n (task_id, shard, call_num, success, fail, rang_num, toseat_num,
       key_feedback_num, call_loss_num, call_duration_s, dnc_suppressed_num)
     SELECT d.task_id, $2, d.call_num, d.success, d.fail, d.rang_num, d.toseat_num, d.key_feedback_num,
       d.call_loss_num, d.call_duration_s, d.dnc_suppressed_num
     FROM unnest($1::int[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[],
       $10::bigint[], $11::int[])
       AS d(task_id, call_num, success, fail, rang_num, toseat_num, key_feedback_num, call_loss_num,
         call_duration_s, dnc_suppressed_num)
     ON CONFLICT (task_id, shard) DO UPDATE SET call_num = n.call_num + excluded.call_num,
       success = n.success + excluded.success, fail = n.fail + excluded.fail,
       rang_num = n.rang_num + excluded.rang_num, toseat_num = n.toseat_num + excluded.toseat_num,
       key_feedback_num = n.key_feedback_num + excluded.key_feedback_num,
       call_loss_num = n.call_loss_num + excluded.call_loss_num,
       call_duration_s = n.call_duration_s + excluded.call_duration_s,
       dnc_suppressed_num = n.dnc_suppressed_num + excluded.dnc_suppressed_num`,
    [
      column((d) => d.taskId),
      shard,
      column((d) => d.callNum),
      column((d) => d.success),
      column((d) => d.fail),
      column((d) => d.rangNum),
      column((d) => d.toseatNum),
      column((d) => d.keyFeedbackNum),
      column((d) => d.callLossNum),
      column((d) => d.callDurationS),
      column((d) => d.dncSuppressedNum),
    ],
  );
}
