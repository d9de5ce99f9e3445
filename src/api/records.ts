/**
 * Call records (spec §3): one by voiceId, or a page by time window (≤ 31 days).
 *
 * [ours] optional filters in `params`: taskId, sourceTaskId (a campaign: the original task and all its
 * recall rounds), outRecallCount (round), callStatusList, feedbackValue (key pressed, '-1' none),
 * calleePrefix, and afterVoiceId (keyset paging: the records after that voiceId, for fast deep pages).
 * With taskId or sourceTaskId the time window may be left out; without them it is required.
 * The same params drive the CSV export (src/api/exports.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { AccountRow } from '../db/queries/accounts.ts';
import {
  countRecords,
  getRecord,
  type RecordFilter,
  type RecordRow,
  recordPage,
} from '../db/queries/records.ts';
import { getTask } from '../db/queries/tasks.ts';
import { toCallRecord } from '../domain/call-record.ts';
import { invalid, notFound } from '../domain/errors.ts';
import { maxId } from '../domain/ids.ts';
import { parseIso } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { CallRecord, Envelope, PageData } from './responses.ts';
import { Id, page, withPaging } from './schemas.ts';

export const RecordFilterSchema = Type.Object({
  strTime: Type.Optional(Type.String({ minLength: 10, maxLength: 40, description: 'ISO-8601 with offset' })),
  endTime: Type.Optional(Type.String({ minLength: 10, maxLength: 40, description: 'ISO-8601 with offset' })),
  taskId: Type.Optional(Id()),
  sourceTaskId: Type.Optional(Id('[ours] the original task: its records and its recall rounds')),
  outRecallCount: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 10, description: '[ours] round, 0 = original task' }),
  ),
  callStatusList: Type.Optional(
    Type.Array(Type.Integer({ enum: [10, 20, 30, 40, 50, 60] }), { maxItems: 6, description: '[ours]' }),
  ),
  feedbackValue: Type.Optional(
    Type.String({ pattern: '^(-1|[0-9*#])$', description: '[ours] first key pressed, -1 = none' }),
  ),
  calleePrefix: Type.Optional(
    Type.String({ pattern: '^\\+?[0-9]{1,18}$', description: '[ours] digits the number starts with' }),
  ),
  afterVoiceId: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: maxId,
      description: '[ours] keyset paging: records after this voiceId',
    }),
  ),
});
export type RecordFilterParams = Static<typeof RecordFilterSchema>;

const QueryBody = withPaging(RecordFilterSchema);

const maxWindowMs = 31 * 24 * 3600_000;

/** Checks the params and turns them into a query filter (-22 naming the field and the rule). */
export function readRecordFilter(account: AccountRow, params: RecordFilterParams | undefined): RecordFilter {
  const p = params ?? {};
  const scoped = p.taskId !== undefined || p.sourceTaskId !== undefined;
  if (!scoped && (p.strTime === undefined || p.endTime === undefined)) {
    if (!params) throw invalid('params', 'is required (strTime, endTime)');
    throw invalid(p.strTime === undefined ? 'params.strTime' : 'params.endTime', 'is required');
  }
  const from = p.strTime === undefined ? null : parseIso(p.strTime, 'params.strTime');
  const to = p.endTime === undefined ? null : parseIso(p.endTime, 'params.endTime');
  if (from !== null && to !== null) {
    if (to < from) throw invalid('params.endTime', 'must not be before strTime');
    if (to - from > maxWindowMs) throw invalid('params.endTime', 'the window must be at most 31 days');
  }
  return {
    accountId: account.id,
    from,
    to,
    taskId: p.taskId ?? null,
    sourceTaskId: p.sourceTaskId ?? null,
    round: p.outRecallCount ?? null,
    callStatuses: p.callStatusList?.length ? p.callStatusList : null,
    feedbackValue: p.feedbackValue ?? null,
    calleePrefix: p.calleePrefix ? p.calleePrefix.replace(/^\+/, '') : null,
  };
}

/** A filter naming another account's task is refused like any id that is not the caller's (-24). */
export async function checkFilterTasks(
  ctx: ApiContext,
  account: AccountRow,
  filter: RecordFilter,
): Promise<void> {
  for (const [field, id] of [
    ['taskId', filter.taskId],
    ['sourceTaskId', filter.sourceTaskId],
  ] as const) {
    if (id !== null && !(await getTask(ctx.db, account.id, id))) throw notFound(`params.${field} ${id}`);
  }
}

export function recordOf(row: RecordRow, zone: string) {
  return toCallRecord(
    row,
    { sourceTaskId: row.source_task_id, round: row.round, displayNum: row.display_num ?? '' },
    zone,
  );
}

export function registerRecordRoutes(app: ApiApp, ctx: ApiContext): void {
  const Params = Type.Object({ voiceId: Id() });
  app.get(
    '/voice/recordGroup/:voiceId',
    { schema: { params: Params, response: { 200: Envelope(CallRecord, 'one call record') } } },
    async (request) => {
      const { voiceId } = request.params;
      const row = await getRecord(ctx.db, request.account.id, voiceId);
      if (!row) throw notFound(`record ${voiceId}`);
      return ok(recordOf(row, request.account.time_zone));
    },
  );

  app.post(
    '/voice/recordGroupQuery',
    {
      schema: { body: QueryBody, response: PageData(CallRecord, 'a page of call records') },
    },
    async (request) => {
      const body = request.body;
      const filter = readRecordFilter(request.account, body.params);
      await checkFilterTasks(ctx, request.account, filter);
      const total = await countRecords(ctx.db, filter);
      const rows = await recordPage(ctx.db, filter, {
        limit: body.size,
        afterId: body.params?.afterVoiceId ?? null,
        offset: (body.current - 1) * body.size,
      });
      const zone = request.account.time_zone;
      return ok(
        page(
          rows.map((row) => recordOf(row, zone)),
          total,
          body.current,
          body.size,
        ),
      );
    },
  );
}
