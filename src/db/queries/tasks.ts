import type { TaskSettings } from '../../domain/task-settings.ts';
import { TaskStatus, TaskTransition } from '../../domain/task-status.ts';
import type { Db, Queryable } from '../db.ts';
import { calleeTextColumns } from './callee-info.ts';

export interface TaskRow {
  id: number;
  account_id: number;
  app_id: number;
  name: string;
  status: number;
  settings: TaskSettings;
  send_time: Date | null;
  flow_id: number | null;
  round: number;
  source_task_id: number | null;
  num_cnt: number;
  call_num: number;
  success: number;
  fail: number;
  rang_num: number;
  toseat_num: number;
  key_feedback_num: number;
  call_loss_num: number;
  call_duration_s: number;
  dnc_suppressed_num: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface Callee {
  callee: string;
  info: Record<string, string> | null;
}

export interface NewTask {
  accountId: number;
  appId: number;
  name: string;
  settings: TaskSettings;
  sendTime: number | null;
  flowId: number | null;
  round: number;
  sourceTaskId: number | null;
  now: number;
}

export async function insertTask(tx: Queryable, task: NewTask): Promise<number> {
  const [row] = await tx.query<{ id: number }>(
    `INSERT INTO tasks (account_id, app_id, name, status, settings, send_time, flow_id, round, source_task_id,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $10) RETURNING id`,
    [
      task.accountId,
      task.appId,
      task.name,
      TaskStatus.waiting,
      JSON.stringify(task.settings),
      task.sendTime === null ? null : new Date(task.sendTime),
      task.flowId,
      task.round,
      task.sourceTaskId,
      new Date(task.now),
    ],
  );
  return row!.id;
}

/**
 * Stores a task's callees with one COPY (set-based: 200,000 rows in one statement), with each callee's
 * zone(s) when given (src/api/callee-zones.ts; null = unknown, read in the account's zone).
 */
export async function insertCallees(
  tx: Queryable,
  taskId: number,
  accountId: number,
  callees: readonly Callee[],
  zones?: ReadonlyArray<string | null>,
): Promise<void> {
  const task = String(taskId);
  const account = String(accountId);
  function* rows() {
    for (let i = 0; i < callees.length; i++) {
      const c = callees[i]!;
      yield [
        task,
        account,
        String(i),
        c.callee,
        zones?.[i] ?? null,
        ...calleeTextColumns.map((column) => c.info?.[column] ?? null),
      ];
    }
  }
  await tx.copyRows(
    'calls',
    ['task_id', 'account_id', 'seq', 'callee', 'callee_zone', ...calleeTextColumns],
    rows(),
  );
  await tx.query('UPDATE tasks SET num_cnt = $2 WHERE id = $1', [taskId, callees.length]);
}

export async function getTask(
  db: Queryable,
  accountId: number,
  taskId: number,
): Promise<TaskRow | undefined> {
  const [row] = await db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1 AND account_id = $2', [
    taskId,
    accountId,
  ]);
  return row;
}

/** Moves the given tasks along one transition; returns the ids that moved (others were not in a `from` state). */
export async function transitionTasks(
  db: Queryable,
  args: { accountId: number; taskIds: number[]; transition: keyof typeof TaskTransition; now: number },
): Promise<number[]> {
  const { from, to } = TaskTransition[args.transition];
  const ended = to === TaskStatus.cancelled || to === TaskStatus.finished;
  const rows = await db.query<{ id: number }>(
    `UPDATE tasks SET status = $3, updated_at = $5, finished_at = CASE WHEN $6 THEN $5 ELSE finished_at END
     WHERE id = ANY($1::int[]) AND account_id = $2 AND status = ANY($4::smallint[]) RETURNING id`,
    [args.taskIds, args.accountId, to, [...from], new Date(args.now), ended],
  );
  return rows.map((row) => row.id);
}

/**
 * Waiting tasks whose sendTime has come start calling (runnable at once); their recall flows become in
 * progress.
 */
export async function startDueTasks(db: Db, now: number): Promise<number[]> {
  return db.transaction(async (tx) => {
    const started = await tx.query<{ id: number; flow_id: number | null }>(
      `UPDATE tasks SET status = $1, started_at = COALESCE(started_at, $3), updated_at = $3, next_dial_at = $3
       WHERE status = $2 AND (send_time IS NULL OR send_time <= $3) RETURNING id, flow_id`,
      [TaskStatus.calling, TaskStatus.waiting, new Date(now)],
    );
    const flows = started.map((row) => row.flow_id).filter((id): id is number => id !== null);
    if (flows.length > 0) {
      await tx.query(
        'UPDATE recall_flows SET status = 1, updated_at = $2 WHERE id = ANY($1::int[]) AND status = 0',
        [flows, new Date(now)],
      );
    }
    return started.map((row) => row.id);
  });
}

/**
 * Drained calling tasks (nothing left to lease) with no call in flight are finished. Only drained tasks
 * are looked at (`tasks_drained`), so the cost follows the calls in flight, not the tasks open.
 */
export async function finishDrainedTasks(db: Queryable, now: number): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `UPDATE tasks t SET status = $1, finished_at = $3, updated_at = $3
     WHERE t.status = $2 AND t.next_dial_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = 'dialling')
       AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = 'due')
     RETURNING id`,
    [TaskStatus.finished, TaskStatus.calling, new Date(now)],
  );
  return rows.map((row) => row.id);
}
