/** Group-call tasks (spec §3): send, update, resend, query, detail, pause, resume, cancel. */
import { Type } from '@sinclair/typebox';
import { defaultSendStreamMinBytes } from '../config.ts';
import type { Queryable } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import { findApp } from '../db/queries/accounts.ts';
import { clearDeferrals } from '../db/queries/calling-rules.ts';
import { insertFlow } from '../db/queries/recall-flows.ts';
import { cancelTasks, lockTasks } from '../db/queries/task-control.ts';
import { taskDetailFacts } from '../db/queries/task-detail.ts';
import {
  type Callee,
  type CalleeColumns,
  copyCalleeColumns,
  copyCallees,
  emptyCalleeColumns,
  getTask,
  insertTask,
  pushCallee,
  queryTasks,
  setCalleeCount,
  type TaskOrder,
  type TaskRow,
  taskOrders,
  transitionTasks,
  updateTaskSettings,
} from '../db/queries/tasks.ts';
import { type AccountPace, type TaskWaitFacts, waitFacts } from '../db/queries/wait-facts.ts';
import { ApiError, invalid, notFound, ResultCode, stateConflict } from '../domain/errors.ts';
import { escapeLike } from '../domain/like.ts';
import { checkSmsPlaceholders } from '../domain/task-settings.ts';
import { editableStatuses, endedStatuses, TaskStatus, type TaskTransition } from '../domain/task-status.ts';
import { formatInZone, parseInZone } from '../domain/time.ts';
import { type Wait, waitOf } from '../domain/wait-reason.ts';
import { verifyPendingSignature } from './auth.ts';
import { calleeZonesOf } from './callee-zones.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { checkQuotas, holdQuota } from './quotas.ts';
import { Envelope, IdData, NoData, PageOf, TaskDetail, TaskListRecord } from './responses.ts';
import {
  Id,
  IdList,
  page,
  type RecallFlowBody,
  RecallFlowSchema,
  SendTaskSchema,
  taskName,
  taskSettingProps,
  wireTime,
  withPaging,
} from './schemas.ts';
import { calleesOf, readSendBody, sendBodyOf } from './send-body.ts';
import { StreamedCallees } from './streamed-callees.ts';
import { readCallees, SettingsBuilder } from './task-input.ts';
import { percent, taskSummary } from './task-views.ts';

const SendBody = SendTaskSchema;

const UpdateBody = Type.Object({
  keyId: Id(),
  taskName: Type.Optional(taskName),
  ...taskSettingProps,
});

const ResendBody = Type.Object({
  keyId: Id(),
  appId: Id(),
  taskName,
  resendType: Type.Integer({ minimum: 0, maximum: 1, description: '0 all numbers, 1 failed only' }),
  ...taskSettingProps,
  recallFlow: Type.Optional(RecallFlowSchema),
});

const QueryBody = withPaging(
  Type.Object({
    strTime: Type.Optional(wireTime),
    endTime: Type.Optional(wireTime),
    statusList: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }))),
    idxAppId: Type.Optional(Id()),
    searchCondition: Type.Optional(Type.String({ maxLength: 64 })),
    sort: Type.Optional(
      Type.String({ enum: Object.keys(taskOrders), description: '[ours] list order, default newest first' }),
    ),
  }),
);

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e.code === '23505' && (e.constraint === constraint || (e.message ?? '').includes(constraint));
}

function columnsOf(entries: readonly Callee[]): CalleeColumns {
  const columns = emptyCalleeColumns();
  for (const entry of entries) pushCallee(columns, entry);
  return columns;
}

async function createTask(
  ctx: ApiContext,
  account: AccountRow,
  args: {
    body: Record<string, unknown> & {
      appId: number;
      taskName: string;
      sendTime?: string;
      recallFlow?: RecallFlowBody;
    };
    /** Held for COPY; already being COPYed (streamed, under its reserved task id); or written by `callees`. */
    callees: CalleeColumns | StreamedCallees | ((tx: Queryable, taskId: number) => Promise<number>);
    base?: TaskRow;
  },
): Promise<number> {
  const { body } = args;
  const streamed = args.callees instanceof StreamedCallees ? args.callees : null;
  const app = await findApp(ctx.db, account.id, body.appId);
  if (!app) throw notFound(`appId ${body.appId}`);
  const builder = new SettingsBuilder(ctx, account, app.id);
  const settings = await builder.task(body, args.base?.settings);
  const columns =
    typeof args.callees === 'function' || args.callees instanceof StreamedCallees ? null : args.callees;
  const masks = streamed?.textMasks ?? columns?.textMasks;
  const listed = masks ? placeholderView(masks) : null;
  if (listed) checkSmsPlaceholders(settings, listed);
  const flow = body.recallFlow ? await builder.flow(body.recallFlow, settings, listed) : null;
  const sendTime = body.sendTime ? parseInZone(body.sendTime, account.time_zone, 'sendTime') : null;
  const now = ctx.clock.now();
  // Found before the transaction: a map lookup per distinct number prefix, ~0.1 s for 200,000 numbers.
  const zones = columns ? calleeZonesOf(columns.numbers) : undefined;
  const inTransaction = <T>(work: (tx: Queryable) => Promise<T>): Promise<T> =>
    streamed ? streamed.complete(work) : ctx.db.transaction(work);
  try {
    return await inTransaction(async (tx) => {
      await holdQuota(tx, account);
      await builder.storeUploads(tx);
      const taskId = await insertTask(
        tx,
        {
          accountId: account.id,
          appId: app.id,
          name: body.taskName,
          settings,
          sendTime,
          flowId: null,
          round: 0,
          sourceTaskId: null,
          now,
        },
        streamed?.taskId,
      );
      if (streamed) {
        await setCalleeCount(tx, taskId, streamed.count);
      } else if (columns) {
        await copyCalleeColumns(tx, taskId, account.id, columns, zones);
      } else if (typeof args.callees === 'function' && (await args.callees(tx, taskId)) === 0) {
        throw new ApiError(ResultCode.nothingToRecall, 'no numbers to call again');
      }
      if (flow) await insertFlow(tx, { accountId: account.id, taskId, flow, now });
      await checkQuotas(tx, account, ctx.quotas);
      return taskId;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'tasks_name'))
      throw new ApiError(ResultCode.alreadyExists, 'taskName: already exists');
    throw error;
  }
}

/**
 * The callees as the SMS placeholder checks read them (`info[textN]` truthy when given), from their text
 * masks: one shared `info` per combination of texts given, so the view costs one small object per callee.
 */
function placeholderView(textMasks: readonly number[]): Array<{ info: Record<string, string> }> {
  const shared = new Map<number, Record<string, string>>();
  return textMasks.map((mask) => {
    let info = shared.get(mask);
    if (!info) {
      info = {};
      for (let n = 0; n < 10; n++) if (mask & (1 << n)) info[`text${n + 1}`] = 'given';
      shared.set(mask, info);
    }
    return { info };
  });
}

/** Why each task waits, from one statement for the whole page (see src/domain/wait-reason.ts). */
async function waitsOf(ctx: ApiContext, account: AccountRow, tasks: readonly TaskRow[]) {
  const now = ctx.clock.now();
  const facts = await waitFacts(
    ctx.db,
    account.id,
    tasks.map((task) => task.id),
    now,
  );
  return waitViews(account, tasks, facts, now);
}

/** Each task's wait reason, next dial and deferred count, from the facts of wait-facts.ts. */
function waitViews(
  account: AccountRow,
  tasks: readonly TaskRow[],
  facts: { account: AccountPace; tasks: ReadonlyMap<number, TaskWaitFacts> },
  now: number,
) {
  const waits = new Map<number, Wait & { deferredNum: number }>();
  for (const task of tasks) {
    const own = facts.tasks.get(task.id);
    waits.set(task.id, {
      deferredNum: own?.deferredNum ?? 0,
      ...waitOf({
        now,
        status: task.status,
        sendTime: task.send_time?.getTime() ?? null,
        // With windowZone "callee" the windows are judged per callee (firstDeferred), not in the account's zone.
        windows: task.settings.windowZone === 'callee' ? [] : (task.settings.allowSendTime ?? []),
        ...(task.settings.windowZone === 'callee'
          ? {}
          : { days: { weekdays: task.settings.weekdays, blackoutDates: task.settings.blackoutDates } }),
        zone: account.time_zone,
        hasDue: own?.hasDue ?? false,
        firstDeferred: own?.firstDeferred ?? null,
        account: facts.account,
        nextRound: own?.nextRound ?? null,
      }),
    });
  }
  return (task: TaskRow) => {
    const wait = waits.get(task.id)!;
    return {
      waitReason: wait.waitReason,
      nextDialAt: formatInZone(wait.nextDialAt, account.time_zone),
      deferredNum: wait.deferredNum,
      dncSuppressedNum: task.dnc_suppressed_num,
    };
  };
}

export function taskDetail(
  task: TaskRow,
  zone: string,
  extra: { sipGroupName: string | null; onlineSeats?: number },
) {
  const s = task.settings;
  const settled = task.call_num;
  return {
    jobId: task.id,
    taskId: task.id,
    taskName: task.name,
    displayNum: s.displayNum,
    text: s.text ?? null,
    status: task.status,
    rate: percent(settled, task.num_cnt),
    numCnt: task.num_cnt,
    callNum: task.call_num,
    success: task.success,
    fail: task.fail,
    successRate: percent(task.success, task.call_num),
    toseatNum: task.toseat_num,
    toseatNumRate: percent(task.toseat_num, task.success),
    keyFeedbackNum: task.key_feedback_num,
    callLossNum: task.call_loss_num,
    callLossNumRate: percent(task.call_loss_num, task.toseat_num + task.call_loss_num),
    callDuration: Number(task.call_duration_s),
    acd: task.success > 0 ? Math.round(Number(task.call_duration_s) / task.success) : 0,
    callTotal: task.call_num,
    sendTime: formatInZone(task.send_time ?? task.created_at, zone),
    createdTime: formatInZone(task.created_at, zone),
    mdfTime: formatInZone(task.updated_at, zone),
    finishTime: formatInZone(task.finished_at, zone),
    appId: task.app_id,
    source: s.source,
    voiceFileId: s.voiceFileId ?? null,
    calloutRate: s.calloutRate,
    maxCalls: s.maxCalls,
    maxRingingTime: s.maxRingingTime,
    loopCount: s.loopCount,
    lan: s.lan ?? null,
    allowSendTime: s.allowSendTime,
    // Calling rules (spec §8), as stored: null = not set.
    windowZone: s.windowZone ?? 'account',
    weekdays: s.weekdays ?? null,
    blackoutDates: s.blackoutDates ?? null,
    optOutKey: s.optOutKey ?? null,
    sipGroupName: extra.sipGroupName,
    receivedSeatNum: task.toseat_num,
    onineSeatNum: extra.onlineSeats ?? 0,
    sourceTaskId: task.source_task_id ?? task.id,
    outRecallCount: task.round,
  };
}

export function registerTaskRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/voice/group/call/send',
    {
      schema: { body: SendBody, response: IdData('the new task id') },
      // The callee list is read, checked and capped as it streams in (send-body.ts); the schema then
      // validates the rest, and `calleesOf` answers whichever error the whole body would have got first.
      preParsing: async (request, _reply, payload) =>
        readSendBody(request, payload, {
          limit: request.routeOptions.bodyLimit,
          verify:
            request.headers.signature === undefined
              ? null
              : (text) => verifyPendingSignature(ctx, request, text),
          stream: async (declaredBytes) =>
            request.account
              ? StreamedCallees.start(
                  ctx.db,
                  request.account.id,
                  declaredBytes,
                  ctx.sendStreamMinBytes ?? defaultSendStreamMinBytes,
                )
              : null,
        }),
      attachValidation: true,
      // A streamed list whose request was refused after reading (schema, app, quota...) is rolled back.
      onResponse: async (request) => {
        await sendBodyOf(request)?.streamed?.abort();
      },
    },
    async (request) => {
      const body = request.body;
      const streamed = sendBodyOf(request);
      if (!streamed && request.validationError) throw request.validationError;
      const callees = streamed ? calleesOf(streamed, request.validationError) : columnsOf(readCallees(body));
      const taskId = await createTask(ctx, request.account, { body, callees });
      request.log.info(
        {
          taskId,
          accountId: request.account.id,
          callees: callees instanceof StreamedCallees ? callees.count : callees.numbers.length,
          streamed: callees instanceof StreamedCallees,
        },
        'task created',
      );
      return ok(taskId);
    },
  );

  app.post(
    '/voice/group/call/update',
    { schema: { body: UpdateBody, response: IdData('the task id') } },
    async (request) => {
      const body = request.body;
      // Not in the update schema (numbers are fixed once sent), so read from the raw body to refuse clearly.
      const given = body as Record<string, unknown>;
      if (given.numberInfoList !== undefined || given.numberList !== undefined) {
        throw invalid('numberInfoList', 'numbers cannot be changed by update');
      }
      const account = request.account;
      const task = await getTask(ctx.db, account.id, body.keyId);
      if (!task || task.round > 0) throw notFound(`task ${body.keyId}`);
      if (!editableStatuses.includes(task.status)) {
        throw stateConflict(
          `task ${task.id} has status ${task.status}; only waiting (0) or paused (5) tasks can be updated`,
        );
      }
      const builder = new SettingsBuilder(ctx, account, task.app_id);
      const settings = await builder.task(body, task.settings);
      const sendTime = body.sendTime ? parseInZone(body.sendTime, account.time_zone, 'sendTime') : undefined;
      try {
        const updated = await ctx.db.transaction(async (tx) => {
          await builder.storeUploads(tx);
          const done = await updateTaskSettings(tx, {
            taskId: task.id,
            accountId: account.id,
            settings,
            name: body.taskName,
            sendTime,
            statuses: editableStatuses,
            now: ctx.clock.now(),
          });
          // Callees deferred under the old rules are judged again under the new ones.
          if (done) await clearDeferrals(tx, { taskIds: [task.id], now: ctx.clock.now() });
          return done;
        });
        if (!updated) throw stateConflict(`task ${task.id} changed status; update refused`);
      } catch (error) {
        if (isUniqueViolation(error, 'tasks_name'))
          throw new ApiError(ResultCode.alreadyExists, 'taskName: already exists');
        throw error;
      }
      return ok(task.id);
    },
  );

  app.post(
    '/voice/group/call/resend',
    { schema: { body: ResendBody, response: IdData('the new task id') } },
    async (request) => {
      const body = request.body;
      const account = request.account;
      const source = await getTask(ctx.db, account.id, body.keyId);
      if (!source) throw notFound(`task ${body.keyId}`);
      if (!endedStatuses.includes(source.status)) {
        throw stateConflict(
          `task ${source.id} has status ${source.status}; only finished or cancelled tasks can be resent`,
        );
      }
      const onlyFailed = body.resendType === 1;
      const taskId = await createTask(ctx, account, {
        body,
        base: source,
        callees: (tx, newTaskId) =>
          copyCallees(tx, { toTaskId: newTaskId, fromTaskId: source.id, onlyUnanswered: onlyFailed }),
      });
      request.log.info({ taskId, accountId: request.account.id, resentFrom: body.keyId }, 'task created');
      return ok(taskId);
    },
  );

  app.post(
    '/voice/group/call/query',
    { schema: { body: QueryBody, response: { 200: Envelope(PageOf(TaskListRecord), 'a page of tasks') } } },
    async (request) => {
      const body = request.body;
      const account = request.account;
      const p = body.params ?? {};
      const zone = account.time_zone;
      const from = p.strTime ? new Date(parseInZone(p.strTime, zone, 'params.strTime')) : null;
      const to = p.endTime ? new Date(parseInZone(p.endTime, zone, 'params.endTime')) : null;
      // A filter naming an id must name one of the caller's: another account's app is "does not exist".
      if (p.idxAppId !== undefined && !(await findApp(ctx.db, account.id, p.idxAppId)))
        throw notFound(`params.idxAppId ${p.idxAppId}`);
      const search = p.searchCondition?.trim() || null;
      const searchId = search && /^\d{1,9}$/.test(search) ? Number(search) : null;
      const { total, rows } = await queryTasks(
        ctx.db,
        {
          accountId: account.id,
          createdFrom: from,
          createdTo: to,
          statusList: p.statusList ?? null,
          appId: p.idxAppId ?? null,
          search: search === null ? null : escapeLike(search),
          searchId,
          order: (p.sort ?? 'newest') as TaskOrder,
        },
        body,
      );
      const waitOfTask = await waitsOf(ctx, account, rows);
      const records = rows.map((task) => ({ ...taskSummary(task, zone), ...waitOfTask(task) }));
      return ok(page(records, total, body.current, body.size));
    },
  );

  // One statement (task-detail.ts): the task, why it waits and its seat group.
  const detail = async (account: AccountRow, id: number) => {
    const now = ctx.clock.now();
    const facts = await taskDetailFacts(ctx.db, { accountId: account.id, taskId: id, now });
    if (!facts) throw notFound(`task ${id}`);
    const { task } = facts;
    const waitOfTask = waitViews(
      account,
      [task],
      { account: facts.account, tasks: new Map([[task.id, facts.wait]]) },
      now,
    );
    return ok({
      ...taskDetail(task, account.time_zone, {
        sipGroupName: facts.seatGroup?.name ?? null,
        onlineSeats: facts.seatGroup?.onlineSeats ?? 0,
      }),
      ...waitOfTask(task),
    });
  };
  const DetailParams = Type.Object({ id: Id() });
  app.get(
    '/voice/group/call/detail/:id',
    { schema: { params: DetailParams, response: { 200: Envelope(TaskDetail, 'the task') } } },
    async (request) => detail(request.account, request.params.id),
  );

  const transition = (
    path: string,
    listField: 'jobIdList' | 'taskIdList',
    name: keyof typeof TaskTransition,
  ) => {
    const Body = Type.Object({ [listField]: IdList(1000) });
    app.post(path, { schema: { body: Body, response: NoData } }, async (request) => {
      const ids = [...new Set((request.body as Record<string, number[]>)[listField]!)];
      const account = request.account;
      const now = ctx.clock.now();
      await ctx.db.transaction(async (tx) => {
        const owned = await lockTasks(tx, account.id, ids);
        const missing = ids.filter((id) => !owned.includes(id));
        if (missing.length > 0) throw notFound(`${listField}: task ${missing.join(', ')}`);
        const moved =
          name === 'cancel'
            ? await cancelTasks(tx, { accountId: account.id, taskIds: ids, now })
            : await transitionTasks(tx, { accountId: account.id, taskIds: ids, transition: name, now });
        const refused = ids.filter((id) => !moved.includes(id));
        if (refused.length > 0) {
          throw stateConflict(
            `${listField}: task ${refused.join(', ')} cannot ${name} in its current status`,
          );
        }
      });
      const event = name === 'cancel' ? 'task cancelled' : name === 'pause' ? 'task paused' : 'task resumed';
      for (const taskId of ids) request.log.info({ taskId, accountId: account.id }, event);
      return ok(null);
    });
  };
  transition('/voice/group/call/provisional', 'jobIdList', 'pause');
  transition('/voice/group/call/resume', 'jobIdList', 'resume');
  transition('/voice/group/call/cancel', 'taskIdList', 'cancel');
}

export { TaskStatus };
