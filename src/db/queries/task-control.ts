/**
 * Pause, resume and cancel, for tasks and whole recall flows (spec §3, §6 "Stop means stop").
 *
 * Every statement here runs after `lockTasks` took the tasks FOR UPDATE in id order. The dialer hands
 * leased calls to the carrier under FOR KEY SHARE on the same rows (lease-calls.ts `dispatchLeased`), so
 * a pause or cancel waits for a hand-over in progress, and a hand-over that comes after sees the new
 * status: once the request has returned, nothing more of those tasks is dialled.
 */

import { canCancelWholeFlow, FlowStatus } from '../../domain/recall-flow.ts';
import { CallState } from '../../domain/stored-states.ts';
import { TaskTransition } from '../../domain/task-status.ts';
import type { Queryable } from '../db.ts';
import { transitionTasks } from './tasks.ts';

/** Locks the account's tasks among `ids` (FOR UPDATE, id order) and returns the ids it has. */
export async function lockTasks(tx: Queryable, accountId: number, ids: readonly number[]): Promise<number[]> {
  const rows = await tx.query<{ id: number }>(
    'SELECT id FROM tasks WHERE id = ANY($1::int[]) AND account_id = $2 ORDER BY id FOR UPDATE',
    [ids, accountId],
  );
  return rows.map((row) => row.id);
}

/** A cancelled task's callees that were never dialled will not be: they get no record. */
async function dropUndialledCalls(tx: Queryable, taskIds: readonly number[]): Promise<void> {
  await tx.query(
    `UPDATE calls SET state = '${CallState.cancelled}' WHERE task_id = ANY($1::int[]) AND state = '${CallState.due}'`,
    [taskIds],
  );
}

/** Pending and running nodes of the flows become cancelled, and so do the flows (if not already ended). */
async function cancelFlowsAndNodes(
  tx: Queryable,
  flowIds: readonly number[],
  reason: string,
  now: number,
): Promise<void> {
  if (flowIds.length === 0) return;
  const at = new Date(now);
  await tx.query(
    `UPDATE recall_nodes SET status = $2, updated_at = $3
     WHERE flow_id = ANY($1::int[]) AND status = ANY($4::smallint[])`,
    [flowIds, FlowStatus.cancelled, at, [FlowStatus.pending, FlowStatus.inProgress]],
  );
  await tx.query(
    `UPDATE recall_flows SET status = $2, reason = $3, updated_at = $4
     WHERE id = ANY($1::int[]) AND status = ANY($5::smallint[])`,
    [flowIds, FlowStatus.cancelled, reason, at, [FlowStatus.pending, FlowStatus.inProgress]],
  );
}

/**
 * Cancels locked tasks: status 4, undialled callees dropped, and (spec §6 [ours]) the recall flow of any
 * of them cancelled with every pending round, so no later round dials anyone. Returns the ids that moved.
 */
export async function cancelTasks(
  tx: Queryable,
  args: { accountId: number; taskIds: readonly number[]; now: number },
): Promise<number[]> {
  const moved = await transitionTasks(tx, {
    accountId: args.accountId,
    taskIds: [...args.taskIds],
    transition: 'cancel',
    now: args.now,
  });
  if (moved.length === 0) return moved;
  await dropUndialledCalls(tx, moved);
  const flows = await tx.query<{ flow_id: number; id: number }>(
    'SELECT flow_id, id FROM tasks WHERE id = ANY($1::int[]) AND flow_id IS NOT NULL ORDER BY flow_id',
    [moved],
  );
  for (const { flow_id, id } of flows) {
    await cancelFlowsAndNodes(tx, [flow_id], `task ${id} was cancelled`, args.now);
  }
  return moved;
}

export type FlowCancelResult = 'cancelled' | 'not-found' | 'ended';

/**
 * Cancels a whole recall flow (recallFlow/cancel types 1 and 2): every pending node becomes 3 and, while
 * the flow runs, the task of the running round (or the original task) is cancelled like a task cancel.
 * A flow already completed, cancelled or in exception is 'ended' (-41).
 */
export async function cancelWholeFlow(
  tx: Queryable,
  args: { accountId: number; flowId: number; now: number },
): Promise<FlowCancelResult> {
  // Tasks first, then the flow: the order every other writer (round closing, task cancel) locks in.
  const open = await tx.query<{ id: number }>(
    `SELECT id FROM tasks WHERE flow_id = $1 AND account_id = $2 AND status = ANY($3::smallint[])
     ORDER BY id FOR UPDATE`,
    [args.flowId, args.accountId, [...TaskTransition.cancel.from]],
  );
  const [flow] = await tx.query<{ status: number; task_id: number }>(
    'SELECT status, task_id FROM recall_flows WHERE id = $1 AND account_id = $2 FOR UPDATE',
    [args.flowId, args.accountId],
  );
  if (!flow) return 'not-found';
  if (!canCancelWholeFlow(flow.status)) return 'ended';
  if (flow.status === FlowStatus.inProgress) {
    // The original task while it has not started is left alone: cancelling a pending flow only drops
    // the rounds to come (spec §3); once the flow runs, its running task is stopped too.
    const running = open.map((row) => row.id);
    if (running.length > 0) {
      const moved = await transitionTasks(tx, {
        accountId: args.accountId,
        taskIds: running,
        transition: 'cancel',
        now: args.now,
      });
      await dropUndialledCalls(tx, moved);
    }
  }
  await cancelFlowsAndNodes(tx, [args.flowId], 'cancelled by request', args.now);
  return 'cancelled';
}
