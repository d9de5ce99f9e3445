/**
 * What the live-progress stream (src/api/events.ts) reads: the account's tasks, recall flows and agents
 * that may have changed since the last look. Active tasks, tasks with calls still in flight (a cancelled
 * task settles its last calls), tasks touched since `since`, and the ids the stream still watches.
 */

import { CallState } from '../../domain/stored-states.ts';
import { openStatuses, TaskStatus } from '../../domain/task-status.ts';
import type { Queryable } from '../db.ts';

/** What a look asks for: the account, the previous look's time, and the ids the stream still watches. */
export interface ChangedSince {
  accountId: number;
  since: number;
  watched: number[];
}

export interface TaskProgressRow {
  id: number;
  name: string;
  status: number;
  num_cnt: number;
  call_num: number;
  success: number;
  fail: number;
  source_task_id: number | null;
  round: number;
  created_at: Date;
}

export async function changedTasks(db: Queryable, args: ChangedSince): Promise<TaskProgressRow[]> {
  return db.query<TaskProgressRow>(
    `SELECT id, name, status, num_cnt, call_num, success, fail, source_task_id, round, created_at FROM tasks_counted t
     WHERE account_id = $1 AND (status IN (${openStatuses.join(', ')}) OR id = ANY($2::int[])
       OR updated_at >= $3 OR created_at >= $3 OR finished_at >= $3
       OR id IN (SELECT task_id FROM calls WHERE account_id = $1 AND state = '${CallState.dialling}'))
     ORDER BY id`,
    [args.accountId, args.watched, new Date(args.since)],
  );
}

export interface FlowProgressRow {
  id: number;
  task_id: number;
  status: number;
  finish_num: number;
  recall_num: number;
}

export async function changedFlows(db: Queryable, args: ChangedSince): Promise<FlowProgressRow[]> {
  return db.query<FlowProgressRow>(
    `SELECT id, task_id, status, finish_num, recall_num FROM recall_flows
     WHERE account_id = $1 AND (status IN (${TaskStatus.waiting}, ${TaskStatus.calling}) OR id = ANY($2::int[]) OR updated_at >= $3) ORDER BY id`,
    [args.accountId, args.watched, new Date(args.since)],
  );
}

export interface AgentProgressRow {
  username: string;
  group_id: number;
  state: 'offline' | 'idle' | 'ringing' | 'busy' | 'wrapup';
  expires_at: Date | null;
  wrapup_until: Date | null;
  call_count: number;
}

export async function accountAgents(db: Queryable, accountId: number): Promise<AgentProgressRow[]> {
  return db.query<AgentProgressRow>(
    `SELECT username, group_id, state, expires_at, wrapup_until, call_count FROM sip_accounts
     WHERE account_id = $1 ORDER BY id LIMIT 1000`,
    [accountId],
  );
}
