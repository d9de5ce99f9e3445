import { FlowStatus, givenNodeSettings, type RecallFlowInput } from '../../domain/recall-flow.ts';
import type { NodeSettings, TaskSettings } from '../../domain/task-settings.ts';
import type { Queryable } from '../db.ts';
import { pagedQuery } from './paging.ts';
import { firstRow } from './rows.ts';

export interface FlowRow {
  id: number;
  account_id: number;
  task_id: number;
  recall_interval: number;
  recall_num: number;
  recall_type: number;
  status: number;
  finish_num: number;
  reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NodeRow {
  id: number;
  flow_id: number;
  round: number;
  status: number;
  given: Partial<NodeSettings> | null;
  task_id: number | null;
  due_at: Date | null;
  reason: string | null;
}

/** Creates a flow for `taskId` with one pending node per round. */
export async function insertFlow(
  tx: Queryable,
  args: { accountId: number; taskId: number; flow: RecallFlowInput; now: number },
): Promise<number> {
  const [row] = await tx.query<{ id: number }>(
    `INSERT INTO recall_flows (account_id, task_id, recall_interval, recall_num, recall_type, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
    [
      args.accountId,
      args.taskId,
      args.flow.recallInterval,
      args.flow.recallNum,
      args.flow.recallType,
      new Date(args.now),
    ],
  );
  const flowId = row!.id;
  await insertNodes(tx, flowId, args.flow, args.now);
  await tx.query('UPDATE tasks SET flow_id = $2 WHERE id = $1', [args.taskId, flowId]);
  return flowId;
}

async function insertNodes(tx: Queryable, flowId: number, flow: RecallFlowInput, now: number): Promise<void> {
  const given = givenNodeSettings(flow.nodeList, flow.recallNum);
  await tx.query(
    `INSERT INTO recall_nodes (flow_id, round, given, updated_at)
     SELECT $1, r.round, r.given, $3 FROM unnest($2::jsonb[]) WITH ORDINALITY AS r(given, round)`,
    [flowId, given.map((g) => (g ? JSON.stringify(g) : null)), new Date(now)],
  );
}

/** Replaces a pending flow's settings and nodes; false when the flow is no longer pending. */
export async function replacePendingFlow(
  tx: Queryable,
  args: { flowId: number; flow: RecallFlowInput; now: number },
): Promise<boolean> {
  const updated = await tx.query(
    `UPDATE recall_flows SET recall_interval = $2, recall_num = $3, recall_type = $4, updated_at = $5
     WHERE id = $1 AND status = $6 RETURNING id`,
    [
      args.flowId,
      args.flow.recallInterval,
      args.flow.recallNum,
      args.flow.recallType,
      new Date(args.now),
      FlowStatus.pending,
    ],
  );
  if (updated.length === 0) return false;
  await tx.query('DELETE FROM recall_nodes WHERE flow_id = $1', [args.flowId]);
  await insertNodes(tx, args.flowId, args.flow, args.now);
  return true;
}

/** One of the account's recall flows, by its own id or by the id of the task it recalls. */
export async function getFlow(
  db: Queryable,
  accountId: number,
  by: { flowId: number } | { taskId: number },
): Promise<FlowRow | undefined> {
  const [column, id] = 'flowId' in by ? (['id', by.flowId] as const) : (['task_id', by.taskId] as const);
  return firstRow<FlowRow>(db, `SELECT * FROM recall_flows WHERE ${column} = $1 AND account_id = $2`, [
    id,
    accountId,
  ]);
}

/**
 * A flow as `/voice/recallFlow/queryDetail` answers it: its rounds' nodes and its original task. Its times
 * stay epoch milliseconds (they are only formatted for the answer).
 */
export interface FlowDetailRow extends Omit<FlowRow, 'created_at' | 'updated_at'> {
  created_at: number;
  updated_at: number;
  /** The original task (null when it is gone). */
  original: { name: string; settings: TaskSettings } | null;
  nodes: Array<Omit<NodeRow, 'due_at'> & { due_at: number | null }>;
}

const epochMs = (column: string) => `round(extract(epoch FROM ${column}) * 1000)`;

// Answered as one JSON value (one column to decode instead of a dozen per call; the API reads this on
// every poll). Timestamps travel as epoch milliseconds: inside JSON they would come back as text to parse.
const flowDetailSql = `SELECT json_build_object('id', f.id, 'account_id', f.account_id, 'task_id', f.task_id,
       'recall_interval', f.recall_interval, 'recall_num', f.recall_num, 'recall_type', f.recall_type,
       'status', f.status, 'finish_num', f.finish_num, 'reason', f.reason,
       'created_at', ${epochMs('f.created_at')}, 'updated_at', ${epochMs('f.updated_at')},
       'task_name', t.name, 'task_settings', t.settings,
       'nodes', COALESCE((SELECT json_agg(json_build_object('id', n.id, 'flow_id', n.flow_id, 'round', n.round,
                   'status', n.status, 'given', n.given, 'task_id', n.task_id, 'reason', n.reason,
                   'due_at', ${epochMs('n.due_at')}) ORDER BY n.round)
                 FROM recall_nodes n WHERE n.flow_id = f.id), '[]'::json)) AS detail
     FROM recall_flows f LEFT JOIN tasks t ON t.id = f.task_id AND t.account_id = f.account_id
     WHERE f.id = $1 AND f.account_id = $2`;

/** The flow, its original task's name and settings, and its nodes in round order: one statement. */
export async function flowDetail(
  db: Queryable,
  accountId: number,
  flowId: number,
): Promise<FlowDetailRow | undefined> {
  const [row] = await db.query<{
    detail: Omit<FlowDetailRow, 'original'> & {
      task_name: string | null;
      task_settings: TaskSettings | null;
    };
  }>(flowDetailSql, [flowId, accountId], { prepareAs: 'flow_detail' });
  if (!row) return undefined;
  const { task_name, task_settings, ...flow } = row.detail;
  return {
    ...flow,
    original:
      task_name === null || task_settings === null ? null : { name: task_name, settings: task_settings },
  };
}

/** Cancels a pending node and every later pending node (type 3); false when that node is not pending. */
export async function cancelNodeAndLater(tx: Queryable, node: NodeRow, now: number): Promise<boolean> {
  const [locked] = await tx.query<{ id: number }>(
    'SELECT id FROM recall_nodes WHERE id = $1 AND status = $2 FOR UPDATE',
    [node.id, FlowStatus.pending],
  );
  if (!locked) return false;
  await tx.query(
    'UPDATE recall_nodes SET status = $3, updated_at = $4 WHERE flow_id = $1 AND round >= $2 AND status = $5',
    [node.flow_id, node.round, FlowStatus.cancelled, new Date(now), FlowStatus.pending],
  );
  // A flow whose earlier rounds are all done and whose remaining rounds are cancelled is complete.
  await completeFlowIfSettled(tx, node.flow_id, now);
  return true;
}

/** Marks an in-progress flow completed once no node is pending or in progress. */
export async function completeFlowIfSettled(tx: Queryable, flowId: number, now: number): Promise<void> {
  await tx.query(
    `UPDATE recall_flows f SET status = $2, updated_at = $3
     WHERE f.id = $1 AND f.status = $4
       AND NOT EXISTS (SELECT 1 FROM recall_nodes n WHERE n.flow_id = f.id AND n.status IN ($5, $4))
       AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = f.task_id AND t.flow_closed)`,
    [flowId, FlowStatus.completed, new Date(now), FlowStatus.inProgress, FlowStatus.pending],
  );
}

export type FlowListRow = FlowRow & { task_name: string };

export interface FlowFilter {
  accountId: number;
  createdFrom: Date | null;
  createdTo: Date | null;
  /** Matched against the original task's name (already LIKE-escaped), or as its id when `searchId` is set. */
  search: string | null;
  searchId: number | null;
}

/** One page of an account's recall flows, newest first (spec §3 recallFlow/queryPage). */
export const queryFlows = pagedQuery<FlowFilter, FlowListRow>(
  {
    select: 'f.*, t.name AS task_name',
    from: 'recall_flows f JOIN tasks t ON t.id = f.task_id',
    where: `f.account_id = $1 AND ($2::timestamptz IS NULL OR f.created_at >= $2)
        AND ($3::timestamptz IS NULL OR f.created_at <= $3)
        AND ($4::text IS NULL OR t.name ILIKE '%' || $4 || '%' OR t.id = $5)`,
    orderBy: 'f.id DESC',
  },
  (filter) => [filter.accountId, filter.createdFrom, filter.createdTo, filter.search, filter.searchId],
);

/** A recall node of one of the account's flows. */
export function getNode(db: Queryable, accountId: number, nodeId: number): Promise<NodeRow | undefined> {
  return firstRow<NodeRow>(
    db,
    'SELECT n.* FROM recall_nodes n JOIN recall_flows f ON f.id = n.flow_id WHERE n.id = $1 AND f.account_id = $2',
    [nodeId, accountId],
  );
}

/** The flow started from an original task (the demo's progress display). */
export async function flowOfOriginalTask(db: Queryable, taskId: number): Promise<FlowRow | undefined> {
  const [flow] = await db.query<FlowRow>('SELECT * FROM recall_flows WHERE task_id = $1', [taskId]);
  return flow;
}

export interface RoundProgress {
  round: number;
  status: number;
  num_cnt: number;
  call_num: number;
  success: number;
  fail: number;
}

/** The original task and each round's task of a flow, in round order. */
export async function roundsProgress(
  db: Queryable,
  args: { originalTaskId: number; flowId: number | null },
): Promise<RoundProgress[]> {
  return db.query<RoundProgress>(
    `SELECT round, status, num_cnt, call_num, success, fail FROM tasks_counted
     WHERE id = $1 OR (flow_id = $2 AND round > 0) ORDER BY round`,
    [args.originalTaskId, args.flowId ?? 0],
  );
}
