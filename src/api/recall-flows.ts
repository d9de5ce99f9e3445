/** Recall flows (spec §3, §6): queryPage, queryDetail (every seed field), update, cancel types 1/2/3. */
import { Type } from '@sinclair/typebox';
import {
  cancelNodeAndLater,
  type FlowDetailRow,
  flowDetail,
  getFlow,
  getNode,
  queryFlows,
  replacePendingFlow,
} from '../db/queries/recall-flows.ts';
import { cancelWholeFlow } from '../db/queries/task-control.ts';
import { getTask } from '../db/queries/tasks.ts';
import { notFound, stateConflict } from '../domain/errors.ts';
import { escapeLike } from '../domain/like.ts';
import { effectiveRoundSetting, FlowStatus } from '../domain/recall-flow.ts';
import { agentFields, smsFields, type TaskSettings, voiceFields } from '../domain/task-settings.ts';
import { formatInZone, parseInZone } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import {
  Envelope,
  FlowDetail,
  FlowListRecord,
  type FlowNode,
  IdData,
  NoData,
  PageData,
} from './responses.ts';
import { Id, NodeSchema, page, wireTime, withPaging } from './schemas.ts';
import { SettingsBuilder } from './task-input.ts';

const QueryPageBody = withPaging(
  Type.Object({
    strTime: Type.Optional(wireTime),
    endTime: Type.Optional(wireTime),
    taskName: Type.Optional(Type.String({ maxLength: 64 })),
  }),
);
const DetailBody = Type.Object({ keyId: Id() });
const UpdateBody = Type.Object({
  keyId: Id(),
  recallInterval: Type.Integer({ minimum: 1, maximum: 1440 }),
  recallNum: Type.Integer({ minimum: 1, maximum: 10 }),
  recallType: Type.Integer({ minimum: 0, maximum: 1 }),
  nodeList: Type.Optional(Type.Array(NodeSchema, { maxItems: 10 })),
});
const CancelBody = Type.Object({
  type: Type.Integer({
    minimum: 1,
    maximum: 3,
    description: '1 flow by keyId, 2 flow by task id, 3 node and later',
  }),
  id: Id(),
});

/** The seed table's node fields, each with the value the round runs (or ran) with. */
const seedNodeFields = [...voiceFields, ...smsFields, ...agentFields].filter((field) => field !== 'smsAppId');

function nodeView(node: FlowDetailRow['nodes'][number], original: TaskSettings, zone: string) {
  const view: Record<string, unknown> & typeof FlowNode.static = {
    keyId: node.id,
    taskId: node.task_id,
    nodeStatus: node.status,
    round: node.round,
    dueTime: formatInZone(node.due_at, zone),
    reason: node.reason,
  };
  for (const field of seedNodeFields)
    view[field] = effectiveRoundSetting(original, node.given, field) ?? null;
  if (view.voiceFileId !== null) view.voiceFileId = String(view.voiceFileId);
  if (view.feedbackValue !== null) view.feedbackValue = String(view.feedbackValue);
  return view;
}

export function registerRecallFlowRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/voice/recallFlow/queryPage',
    { schema: { body: QueryPageBody, response: PageData(FlowListRecord, 'a page of recall flows') } },
    async (request) => {
      const { body, account } = request;
      const p = body.params ?? {};
      const zone = account.time_zone;
      const search = p.taskName?.trim() || null;
      const { total, rows } = await queryFlows(
        ctx.db,
        {
          accountId: account.id,
          createdFrom: p.strTime ? new Date(parseInZone(p.strTime, zone, 'params.strTime')) : null,
          createdTo: p.endTime ? new Date(parseInZone(p.endTime, zone, 'params.endTime')) : null,
          search: search === null ? null : escapeLike(search),
          searchId: search && /^\d{1,9}$/.test(search) ? Number(search) : null,
        },
        body,
      );
      const records = rows.map((flow) => ({
        keyId: flow.id,
        taskId: flow.task_id,
        taskName: flow.task_name,
        createTime: formatInZone(flow.created_at, zone),
        recallType: flow.recall_type,
        recallInterval: flow.recall_interval,
        recallNum: flow.recall_num,
        finishNum: flow.finish_num,
        status: flow.status,
      }));
      return ok(page(records, total, body.current, body.size));
    },
  );

  app.post(
    '/voice/recallFlow/queryDetail',
    { schema: { body: DetailBody, response: { 200: Envelope(FlowDetail, 'the flow and its rounds') } } },
    async (request) => {
      const { keyId } = request.body;
      const account = request.account;
      // One statement: the flow, its original task and its nodes.
      const flow = await flowDetail(ctx.db, account.id, keyId);
      if (!flow) throw notFound(`recall flow ${keyId}`);
      const { original, nodes } = flow;
      if (!original) throw notFound(`task ${flow.task_id}`);
      return ok({
        keyId: flow.id,
        taskId: flow.task_id,
        taskName: original.name,
        recallInterval: flow.recall_interval,
        recallNum: flow.recall_num,
        recallType: flow.recall_type,
        status: flow.status,
        finishNum: flow.finish_num,
        reason: flow.reason,
        createTime: formatInZone(flow.created_at, account.time_zone),
        nodeList: nodes.map((node) => nodeView(node, original.settings, account.time_zone)),
      });
    },
  );

  app.post(
    '/voice/recallFlow/update',
    { schema: { body: UpdateBody, response: IdData('the flow id') } },
    async (request) => {
      const { body, account } = request;
      const flow = await getFlow(ctx.db, account.id, { flowId: body.keyId });
      if (!flow) throw notFound(`recall flow ${body.keyId}`);
      if (flow.status !== FlowStatus.pending) {
        throw stateConflict(
          `recall flow ${flow.id} has status ${flow.status}; only pending (0) flows can be updated`,
        );
      }
      const original = await getTask(ctx.db, account.id, flow.task_id);
      if (!original) throw notFound(`task ${flow.task_id}`);
      const builder = new SettingsBuilder(ctx, account, original.app_id);
      const input = await builder.flow(body, original.settings, null);
      const replaced = await ctx.db.transaction(async (tx) => {
        await builder.storeUploads(tx);
        return replacePendingFlow(tx, { flowId: flow.id, flow: input, now: ctx.clock.now() });
      });
      if (!replaced) throw stateConflict(`recall flow ${flow.id} started meanwhile; update refused`);
      return ok(flow.id);
    },
  );

  app.post(
    '/voice/recallFlow/cancel',
    { schema: { body: CancelBody, response: NoData } },
    async (request) => {
      const { type, id } = request.body;
      const account = request.account;
      const now = ctx.clock.now();
      if (type === 3) {
        const node = await getNode(ctx.db, account.id, id);
        if (!node) throw notFound(`recall node ${id}`);
        const done = await ctx.db.transaction((tx) => cancelNodeAndLater(tx, node, now));
        if (!done) throw stateConflict(`recall node ${id} is not pending (status ${node.status})`);
        return ok(null);
      }
      const flow = await getFlow(ctx.db, account.id, type === 1 ? { flowId: id } : { taskId: id });
      if (!flow) throw notFound(type === 1 ? `recall flow ${id}` : `recall flow of task ${id}`);
      const result = await ctx.db.transaction((tx) =>
        cancelWholeFlow(tx, { accountId: account.id, flowId: flow.id, now }),
      );
      if (result === 'not-found') throw notFound(`recall flow ${flow.id}`);
      if (result === 'ended') {
        throw stateConflict(
          `recall flow ${flow.id} has status ${flow.status}; only a pending (0) or running (1) flow can be cancelled`,
        );
      }
      return ok(null);
    },
  );
}
