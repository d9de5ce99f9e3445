/** The recall scheduler's statements (spec §6): closing a round when its task ends, starting due rounds. */

import { effectiveRoundSettings, FlowStatus, RecallType, roundDueAt } from '../../domain/recall-flow.ts';
import { CallState } from '../../domain/stored-states.ts';
import type { TaskSettings } from '../../domain/task-settings.ts';
import { TaskStatus } from '../../domain/task-status.ts';
import type { Db, Queryable } from '../db.ts';
import { completeFlowIfSettled, type FlowRow, type NodeRow } from './recall-flows.ts';
import { copyCallees, deleteEmptyTask, insertTask } from './tasks.ts';

/** Rounds started per scheduler tick at most; the rest come up on the next tick. */
const dueRoundsPerTick = 50;

/** Tasks of flows that ended (finished or cancelled) with no call still in flight, not yet taken into account. */
export async function endedFlowTasks(db: Queryable): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `SELECT t.id FROM tasks t WHERE t.flow_id IS NOT NULL AND NOT t.flow_closed AND t.status = ANY($1::smallint[])
       AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = '${CallState.dialling}')
     ORDER BY t.id LIMIT 100`,
    [[TaskStatus.finished, TaskStatus.cancelled]],
  );
  return rows.map((row) => row.id);
}

/**
 * Takes one ended task into account, once: its node completes and the next round becomes due
 * `recallInterval` minutes after the task ended; after the last round the flow completes.
 */
export async function closeRound(
  db: Db,
  taskId: number,
  now: number,
): Promise<{ flowId: number; round: number; nextDueAt: number | null } | null> {
  return db.transaction(async (tx) => {
    const [task] = await tx.query<{
      id: number;
      flow_id: number;
      round: number;
      status: number;
      started_at: Date | null;
      finished_at: Date | null;
    }>(
      'UPDATE tasks SET flow_closed = true WHERE id = $1 AND NOT flow_closed RETURNING id, flow_id, round, status, started_at, finished_at',
      [taskId],
    );
    if (!task) return null;
    const [flow] = await tx.query<FlowRow>('SELECT * FROM recall_flows WHERE id = $1 FOR UPDATE', [
      task.flow_id,
    ]);
    if (!flow) return null;
    const at = new Date(now);
    if (task.round === 0 && task.status === TaskStatus.cancelled && task.started_at === null) {
      // The original task was cancelled before it ever called: the flow never begins.
      await tx.query(
        `UPDATE recall_flows SET status = $2, updated_at = $3 WHERE id = $1 AND status = ${FlowStatus.pending}`,
        [flow.id, FlowStatus.cancelled, at],
      );
      await tx.query(
        `UPDATE recall_nodes SET status = $2, updated_at = $3 WHERE flow_id = $1 AND status = ${FlowStatus.pending}`,
        [flow.id, FlowStatus.cancelled, at],
      );
      return { flowId: flow.id, round: task.round, nextDueAt: null };
    }
    if (task.round > 0) {
      await tx.query(
        'UPDATE recall_nodes SET status = $3, updated_at = $4 WHERE flow_id = $1 AND round = $2 AND status = $5',
        [flow.id, task.round, FlowStatus.completed, at, FlowStatus.inProgress],
      );
      await countFinishedRounds(tx, flow.id, now);
    }
    let nextDueAt: number | null = null;
    if (flow.status === FlowStatus.inProgress) {
      const endedAt = (task.finished_at ?? at).getTime();
      if (task.round < flow.recall_num) nextDueAt = roundDueAt(endedAt, flow.recall_interval);
      await tx.query(
        'UPDATE recall_nodes SET due_at = $3, updated_at = $4 WHERE flow_id = $1 AND round = $2 AND status = $5',
        [
          flow.id,
          task.round + 1,
          new Date(roundDueAt(endedAt, flow.recall_interval)),
          at,
          FlowStatus.pending,
        ],
      );
    }
    await completeFlowIfSettled(tx, flow.id, now);
    return { flowId: flow.id, round: task.round, nextDueAt };
  });
}

export async function dueNodeIds(db: Queryable, now: number): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `SELECT id FROM recall_nodes WHERE status = ${FlowStatus.pending} AND due_at IS NOT NULL AND due_at <= $1
     ORDER BY due_at LIMIT ${dueRoundsPerTick}`,
    [new Date(now)],
  );
  return rows.map((row) => row.id);
}

export interface RoundStartChecks {
  /** Returns why the round cannot start (voice file gone, account disabled), or null. */
  cannotStart(tx: Queryable, accountId: number, settings: TaskSettings): Promise<string | null>;
}

/**
 * Starts one due round: its callees are taken from the previous round's task (all, or the failed ones),
 * keeping their text1..text10, into a new child task. A round with no callees completes at once, with
 * every later round. Guarded by the node's pending status under a row lock, so it runs once.
 */
/** What starting a round did: a task with its callees, none (nothing left to call), or a refusal. */
export interface RoundStart {
  flowId: number;
  round: number;
  taskId: number | null;
  callees: number;
  problem?: string;
}

export async function startRound(
  db: Db,
  nodeId: number,
  now: number,
  checks: RoundStartChecks,
): Promise<RoundStart | null> {
  return db.transaction(async (tx): Promise<RoundStart | null> => {
    const [node] = await tx.query<NodeRow>(
      `SELECT * FROM recall_nodes WHERE id = $1 AND status = ${FlowStatus.pending} FOR UPDATE SKIP LOCKED`,
      [nodeId],
    );
    if (!node) return null;
    const [flow] = await tx.query<FlowRow>('SELECT * FROM recall_flows WHERE id = $1 FOR UPDATE', [
      node.flow_id,
    ]);
    if (!flow || flow.status !== FlowStatus.inProgress) return null;
    const at = new Date(now);
    const [original] = await tx.query<{
      id: number;
      account_id: number;
      app_id: number;
      name: string;
      settings: TaskSettings;
      send_time: Date | null;
    }>('SELECT id, account_id, app_id, name, settings, send_time FROM tasks WHERE id = $1', [flow.task_id]);
    if (!original) throw new Error(`original task ${flow.task_id} of flow ${flow.id} is missing`);
    const previousTaskId =
      node.round === 1
        ? original.id
        : (
            await tx.query<{ task_id: number | null }>(
              'SELECT task_id FROM recall_nodes WHERE flow_id = $1 AND round = $2',
              [flow.id, node.round - 1],
            )
          )[0]?.task_id;

    const settings = effectiveRoundSettings(original.settings, node.given);
    const problem = await checks.cannotStart(tx, original.account_id, settings);
    if (problem) {
      await tx.query('UPDATE recall_nodes SET status = $2, reason = $3, updated_at = $4 WHERE id = $1', [
        node.id,
        FlowStatus.exception,
        problem,
        at,
      ]);
      await tx.query('UPDATE recall_flows SET status = $2, reason = $3, updated_at = $4 WHERE id = $1', [
        flow.id,
        FlowStatus.exception,
        `round ${node.round}: ${problem}`,
        at,
      ]);
      return { flowId: flow.id, round: node.round, taskId: null, callees: 0, problem };
    }

    const taskId = await insertTask(tx, {
      accountId: original.account_id,
      appId: original.app_id,
      name: original.name,
      settings,
      sendTime: null,
      flowId: flow.id,
      round: node.round,
      sourceTaskId: original.id,
      now,
    });
    const n =
      previousTaskId === undefined || previousTaskId === null
        ? 0
        : await copyCallees(tx, {
            toTaskId: taskId,
            fromTaskId: previousTaskId,
            onlyUnanswered: flow.recall_type !== RecallType.all,
            skipDeadNumbers: true,
          });
    if (n === 0) {
      // Nothing to call: this round and every later one complete with no task.
      await deleteEmptyTask(tx, taskId);
      await tx.query(
        `UPDATE recall_nodes SET status = $3, updated_at = $4 WHERE flow_id = $1 AND round >= $2 AND status = ${FlowStatus.pending}`,
        [flow.id, node.round, FlowStatus.completed, at],
      );
      await tx.query('UPDATE recall_flows SET status = $2, updated_at = $3 WHERE id = $1', [
        flow.id,
        FlowStatus.completed,
        at,
      ]);
      await countFinishedRounds(tx, flow.id, now);
      return { flowId: flow.id, round: node.round, taskId: null, callees: 0 };
    }
    await tx.query('UPDATE recall_nodes SET status = $2, task_id = $3, updated_at = $4 WHERE id = $1', [
      node.id,
      FlowStatus.inProgress,
      taskId,
      at,
    ]);
    return { flowId: flow.id, round: node.round, taskId, callees: n };
  });
}

/** finishNum: how many rounds have completed (with or without a task). */
async function countFinishedRounds(tx: Queryable, flowId: number, now: number): Promise<void> {
  await tx.query(
    `UPDATE recall_flows SET updated_at = $2,
       finish_num = (SELECT count(*) FROM recall_nodes WHERE flow_id = $1 AND status = ${FlowStatus.completed})
     WHERE id = $1`,
    [flowId, new Date(now)],
  );
}
