/**
 * [ours] `/voice/group/call/campaign` `{taskId}`: a campaign (the original task and all its recall rounds,
 * found from any of their task ids) summed up: each round's counters, totals across the flow, callees
 * reached (answered in any round, each counted once), and settled calls over time by callStatus.
 * Time buckets grow with the campaign's span so a chart never has more than `maxBuckets` bars.
 */
import { Type } from '@sinclair/typebox';
import { callTimeline, callTimeSpan, campaignTasks, reachedCallees } from '../db/queries/campaign-stats.ts';
import { getFlow } from '../db/queries/recall-flows.ts';
import { notFound } from '../domain/errors.ts';
import { formatInZone } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Campaign, Envelope } from './responses.ts';
import { percent } from './task-views.ts';

const Body = Type.Object({ taskId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

const bucketChoices = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400];
const maxBuckets = 120;

export function registerCampaignRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/voice/group/call/campaign',
    {
      schema: {
        body: Body,
        description:
          '[ours] a campaign (original task + recall rounds) summed up: rounds, totals, reached, calls over time by callStatus',
        response: { 200: Envelope(Campaign, 'the campaign') },
      },
    },
    async (request) => {
      const { taskId } = request.body;
      const account = request.account;
      const zone = account.time_zone;
      const tasks = await campaignTasks(ctx.db, account.id, taskId);
      const original = tasks[0];
      if (!original) throw notFound(`task ${taskId}`);
      const ids = tasks.map((task) => task.id);
      const flow =
        original.flow_id === null
          ? undefined
          : await getFlow(ctx.db, account.id, { flowId: original.flow_id });
      const span = await callTimeSpan(ctx.db, ids);
      const seconds = span
        ? (bucketChoices.find((choice) => (span.last - span.first) / 1000 / choice < maxBuckets) ??
          30 * 86_400)
        : 60;
      const rows = span ? await callTimeline(ctx.db, ids, seconds) : [];
      const buckets = new Map<
        number,
        { time: string | null; calls: number; byStatus: Record<string, number> }
      >();
      for (const row of rows) {
        const at = Number(row.bucket) * 1000;
        let bucket = buckets.get(at);
        if (!bucket) {
          bucket = { time: formatInZone(at, zone), calls: 0, byStatus: {} };
          buckets.set(at, bucket);
        }
        bucket.calls += row.n;
        const status = String(row.call_status ?? 60);
        bucket.byStatus[status] = (bucket.byStatus[status] ?? 0) + row.n;
      }
      const sum = (pick: (task: (typeof tasks)[number]) => number) => tasks.reduce((n, t) => n + pick(t), 0);
      const reached = await reachedCallees(ctx.db, ids);
      return ok({
        taskId: original.id,
        taskName: original.name,
        flow: flow
          ? {
              keyId: flow.id,
              status: flow.status,
              recallNum: flow.recall_num,
              recallType: flow.recall_type,
              recallInterval: flow.recall_interval,
              finishNum: flow.finish_num,
              reason: flow.reason,
            }
          : null,
        rounds: tasks.map((task) => ({
          round: task.round,
          taskId: task.id,
          status: task.status,
          numCnt: task.num_cnt,
          callNum: task.call_num,
          success: task.success,
          fail: task.fail,
          answerRate: percent(task.success, task.call_num),
          createdTime: formatInZone(task.created_at, zone),
          finishTime: formatInZone(task.finished_at, zone),
        })),
        totals: {
          numbers: original.num_cnt,
          calls: sum((t) => t.call_num),
          answered: sum((t) => t.success),
          failed: sum((t) => t.fail),
          reached,
          reachedRate: percent(reached, original.num_cnt),
        },
        timeline: { bucketSeconds: seconds, buckets: [...buckets.values()] },
      });
    },
  );
}
