import { CallStatus, NEVER_RECALL_REASONS } from '../../domain/outcome.ts';
import { FlowStatus } from '../../domain/recall-flow.ts';
import { CallState } from '../../domain/stored-states.ts';
import type { TaskSettings } from '../../domain/task-settings.ts';
import { TaskStatus, TaskTransition } from '../../domain/task-status.ts';
import { csvField, type Db, type Queryable } from '../db.ts';
import { calleeTextColumns, calleeTextList } from './callee-info.ts';
import { type Page, type PageRequest, selectPage } from './paging.ts';

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

/**
 * A callee list held for COPY with as little per callee as possible (a 200,000-callee list is kept
 * while the rest of the request is checked): the number, text1..text10 already encoded as the row's
 * CSV tail, and a bit per text given (for the SMS placeholder checks).
 */
export interface CalleeColumns {
  numbers: string[];
  textsCsv: string[];
  /** Bit n-1 set when textN is given. */
  textMasks: number[];
}

export function emptyCalleeColumns(): CalleeColumns {
  return { numbers: [], textsCsv: [], textMasks: [] };
}

export function pushCallee(list: CalleeColumns, callee: Callee): void {
  const texts = calleeTextsCsv(callee.info);
  pushCalleeRow(list, callee.callee, texts.csv, texts.mask);
}

/** Appends one callee already reduced to its number, texts' CSV tail and text mask. */
export function pushCalleeRow(list: CalleeColumns, number: string, textsCsv: string, textMask: number): void {
  list.numbers.push(number);
  list.textsCsv.push(textsCsv);
  list.textMasks.push(textMask);
}

/** A callee's text1..text10 as the CSV tail of its row, and a bit per text given (bit n-1 for textN). */
export function calleeTextsCsv(info: Record<string, string> | null): { csv: string; mask: number } {
  let mask = 0;
  const fields: string[] = [];
  for (let n = 0; n < calleeTextColumns.length; n++) {
    const value = info?.[calleeTextColumns[n]!];
    if (value !== undefined) mask |= 1 << n;
    fields.push(csvField(value ?? null));
  }
  // join() makes one flat string; `+=` would keep a rope of ~20 pieces per callee alive.
  return { csv: fields.join(','), mask };
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

/**
 * A task id taken before its task row is inserted, so that its callees can be COPYed first (migration
 * 013): the task row must follow in this transaction, or the commit is refused.
 */
export async function reserveTaskId(tx: Queryable): Promise<number> {
  const [row] = await tx.query<{ id: number }>(
    `WITH taken AS (SELECT nextval(pg_get_serial_sequence('tasks', 'id'))::int AS id)
     INSERT INTO task_id_reservations (task_id) SELECT id FROM taken RETURNING task_id AS id`,
  );
  return row!.id;
}

/** Inserts a task; `reservedId` from `reserveTaskId` in this transaction, or a new id. */
export async function insertTask(tx: Queryable, task: NewTask, reservedId?: number): Promise<number> {
  const [row] = await tx.query<{ id: number }>(
    `INSERT INTO tasks (id, account_id, app_id, name, status, settings, send_time, flow_id, round,
       source_task_id, created_at, updated_at)
     OVERRIDING SYSTEM VALUE
     VALUES (coalesce($11::int, nextval(pg_get_serial_sequence('tasks', 'id'))::int), $1, $2, $3, $4, $5::jsonb,
       $6, $7, $8, $9, $10, $10) RETURNING id`,
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
      reservedId ?? null,
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
  const list = emptyCalleeColumns();
  for (const callee of callees) pushCallee(list, callee);
  await copyCalleeColumns(tx, taskId, accountId, list, zones);
}

/** `insertCallees` for a list held as `CalleeColumns`: each row's CSV line from its parts, one COPY. */
export async function copyCalleeColumns(
  tx: Queryable,
  taskId: number,
  accountId: number,
  list: CalleeColumns,
  zones?: ReadonlyArray<string | null>,
): Promise<void> {
  const prefix = calleeCsvPrefix(taskId, accountId);
  function* rows() {
    for (let i = 0; i < list.numbers.length; i++) {
      yield calleeCsvLine(prefix, i, list.numbers[i]!, zones?.[i] ?? null, list.textsCsv[i]!);
    }
  }
  await tx.copyRows('calls', calleeCopyColumns, rows());
  await setCalleeCount(tx, taskId, list.numbers.length);
}

/** The columns of `calls` a callee list is COPYed into, in the order of `calleeCsvLine`'s fields. */
export const calleeCopyColumns: readonly string[] = [
  'task_id',
  'account_id',
  'seq',
  'callee',
  'callee_zone',
  ...calleeTextColumns,
];

export function calleeCsvPrefix(taskId: number, accountId: number): string {
  return `${taskId},${accountId},`;
}

/** One callee's row for a COPY into `calleeCopyColumns` (no line break); `textsCsv` as in CalleeColumns. */
export function calleeCsvLine(
  prefix: string,
  seq: number,
  number: string,
  zone: string | null,
  textsCsv: string,
): string {
  return `${prefix}${seq},${csvField(number)},${csvField(zone)},${textsCsv}`;
}

export async function setCalleeCount(tx: Queryable, taskId: number, count: number): Promise<void> {
  await tx.query('UPDATE tasks SET num_cnt = $2 WHERE id = $1', [taskId, count]);
}

/** Dead numbers (a vacant-code or intercept SIT), as SQL literals checked to be plain identifiers. */
const deadNumberReasons = NEVER_RECALL_REASONS.map((reason) => {
  if (!/^[a-z-]+$/.test(reason)) throw new Error(`unsafe reason ${reason}`);
  return `'${reason}'`;
}).join(', ');

/**
 * Copies a task's callees (number, seq and text columns) into another task, all of them or only those not
 * answered, and sets the new task's count. One statement for a resend and for a recall round alike; a
 * recall round also leaves out dead numbers (`skipDeadNumbers`: a SIT said the number is not in service).
 */
export async function copyCallees(
  tx: Queryable,
  args: { toTaskId: number; fromTaskId: number; onlyUnanswered: boolean; skipDeadNumbers?: boolean },
): Promise<number> {
  const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(
    `WITH copied AS (
       INSERT INTO calls (task_id, account_id, seq, callee, callee_zone, ${calleeTextList})
       SELECT $1, account_id, seq, callee, callee_zone, ${calleeTextList} FROM calls
       WHERE task_id = $2 AND (NOT $3 OR call_status IS DISTINCT FROM ${CallStatus.answered})
         AND (NOT $4 OR termination_reason IS NULL OR termination_reason NOT IN (${deadNumberReasons}))
       ORDER BY seq RETURNING 1)
     SELECT count(*)::int AS n FROM copied`,
    [args.toTaskId, args.fromTaskId, args.onlyUnanswered, args.skipDeadNumbers === true],
  );
  await tx.query('UPDATE tasks SET num_cnt = $2 WHERE id = $1', [args.toTaskId, n]);
  return n;
}

/** Removes a task created in this transaction that turned out to have nothing to call. */
export async function deleteEmptyTask(tx: Queryable, taskId: number): Promise<void> {
  await tx.query('DELETE FROM tasks WHERE id = $1', [taskId]);
}

/**
 * The columns of a TaskRow read from alias `t` of the `tasks_counted` view (migration 011: the counters
 * summed from their shards). Statements that answer a task with its counters select this.
 */
export function taskRowColumns(t: string): string {
  return `${t}.*`;
}

export async function getTask(
  db: Queryable,
  accountId: number,
  taskId: number,
): Promise<TaskRow | undefined> {
  const [row] = await db.query<TaskRow>(
    `SELECT ${taskRowColumns('t')} FROM tasks_counted t WHERE t.id = $1 AND t.account_id = $2`,
    [taskId, accountId],
  );
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
        `UPDATE recall_flows SET status = ${FlowStatus.inProgress}, updated_at = $2
       WHERE id = ANY($1::int[]) AND status = ${FlowStatus.pending}`,
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
       AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = '${CallState.dialling}')
       AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = '${CallState.due}')
     RETURNING id`,
    [TaskStatus.finished, TaskStatus.calling, new Date(now)],
  );
  return rows.map((row) => row.id);
}

/** [ours] task list orders (params.sort); ties broken by id. */
export const taskOrders = {
  newest: 'id DESC',
  oldest: 'id ASC',
  name: 'name ASC, id DESC',
  status: 'status ASC, id DESC',
  progress: 'CASE WHEN num_cnt = 0 THEN 0 ELSE call_num::real / num_cnt END DESC, id DESC',
} as const;
export type TaskOrder = keyof typeof taskOrders;

export interface TaskFilter {
  accountId: number;
  createdFrom: Date | null;
  createdTo: Date | null;
  statusList: readonly number[] | null;
  appId: number | null;
  /** Matched against the name (already LIKE-escaped), or as an id when `searchId` is set. */
  search: string | null;
  searchId: number | null;
  order: TaskOrder;
}

/** One page of an account's tasks (spec §3 query). */
export async function queryTasks(
  db: Queryable,
  filter: TaskFilter,
  page: PageRequest,
): Promise<Page<TaskRow>> {
  return selectPage<TaskRow>(
    db,
    {
      select: '*',
      from: 'tasks_counted',
      where: `account_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2)
        AND ($3::timestamptz IS NULL OR created_at <= $3) AND ($4::smallint[] IS NULL OR status = ANY($4))
        AND ($5::int IS NULL OR app_id = $5)
        AND ($6::text IS NULL OR id = $7 OR name ILIKE '%' || $6 || '%')`,
      orderBy: taskOrders[filter.order],
    },
    [
      filter.accountId,
      filter.createdFrom,
      filter.createdTo,
      filter.statusList?.length ? filter.statusList : null,
      filter.appId,
      filter.search,
      filter.searchId,
    ],
    page,
  );
}

/**
 * Applies an update to a task still in one of `statuses` (fenced in the statement, so a task that started
 * meanwhile is not changed); false when it was not.
 */
export async function updateTaskSettings(
  tx: Queryable,
  args: {
    taskId: number;
    accountId: number;
    settings: TaskSettings;
    name: string | undefined;
    /** undefined leaves the send time as it is. */
    sendTime: number | undefined;
    statuses: readonly number[];
    now: number;
  },
): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE tasks SET settings = $3::jsonb, name = COALESCE($4, name),
       send_time = CASE WHEN $5 THEN $6 ELSE send_time END, updated_at = $7
     WHERE id = $1 AND account_id = $2 AND status = ANY($8::smallint[]) RETURNING id`,
    [
      args.taskId,
      args.accountId,
      JSON.stringify(args.settings),
      args.name ?? null,
      args.sendTime !== undefined,
      args.sendTime === undefined ? null : new Date(args.sendTime),
      new Date(args.now),
      args.statuses,
    ],
  );
  return rows.length > 0;
}
