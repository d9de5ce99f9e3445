/** Call records (spec §3): one by voiceId, or a page by time window (≤ 31 days) and optional task. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { calleeInfoSql } from '../db/queries/callee-info.ts';
import { getTask } from '../db/queries/tasks.ts';
import { type CallRow, toCallRecord } from '../domain/call-record.ts';
import { invalid, notFound } from '../domain/errors.ts';
import { parseIso } from '../domain/time.ts';
import type { ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Id, page, withPaging } from './schemas.ts';

type RecordRow = CallRow & { source_task_id: number | null; round: number; display_num: string };

const recordSelect = `SELECT c.*, ${calleeInfoSql('c')} AS info, t.source_task_id, t.round, t.settings->>'displayNum' AS display_num
  FROM calls c JOIN tasks t ON t.id = c.task_id`;

const QueryBody = withPaging(
  Type.Object({
    strTime: Type.String({ minLength: 10, maxLength: 40 }),
    endTime: Type.String({ minLength: 10, maxLength: 40 }),
    taskId: Type.Optional(Id()),
  }),
);

const maxWindowMs = 31 * 24 * 3600_000;

export function registerRecordRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const toRecord = (row: RecordRow, zone: string) =>
    toCallRecord(
      row,
      { sourceTaskId: row.source_task_id, round: row.round, displayNum: row.display_num ?? '' },
      zone,
    );

  const Params = Type.Object({ voiceId: Id() });
  app.get('/voice/recordGroup/:voiceId', { schema: { params: Params } }, async (request) => {
    const { voiceId } = request.params as typeof Params.static;
    const [row] = await ctx.db.query<RecordRow>(
      `${recordSelect} WHERE c.id = $1 AND c.account_id = $2 AND c.state = 'done'`,
      [voiceId, request.account.id],
    );
    if (!row) throw notFound(`record ${voiceId}`);
    return ok(toRecord(row, request.account.time_zone));
  });

  app.post('/voice/recordGroupQuery', { schema: { body: QueryBody } }, async (request) => {
    const body = request.body as typeof QueryBody.static;
    const params = body.params;
    if (!params) throw invalid('params', 'is required (strTime, endTime)');
    const from = parseIso(params.strTime, 'params.strTime');
    const to = parseIso(params.endTime, 'params.endTime');
    if (to < from) throw invalid('params.endTime', 'must not be before strTime');
    if (to - from > maxWindowMs) throw invalid('params.endTime', 'the window must be at most 31 days');
    // A filter naming another account's task is refused like any id that is not the caller's.
    if (params.taskId !== undefined && !(await getTask(ctx.db, request.account.id, params.taskId)))
      throw notFound(`params.taskId ${params.taskId}`);
    const where = `c.account_id = $1 AND c.state = 'done' AND c.call_time >= $2 AND c.call_time <= $3
      AND ($4::int IS NULL OR c.task_id = $4)`;
    const args = [request.account.id, new Date(from), new Date(to), params.taskId ?? null];
    const [{ total } = { total: 0 }] = await ctx.db.query<{ total: number }>(
      `SELECT count(*)::int AS total FROM calls c WHERE ${where}`,
      args,
    );
    const rows = await ctx.db.query<RecordRow>(
      `${recordSelect} WHERE ${where} ORDER BY c.id LIMIT $5 OFFSET $6`,
      [...args, body.size, (body.current - 1) * body.size],
    );
    const zone = request.account.time_zone;
    return ok(
      page(
        rows.map((row) => toRecord(row, zone)),
        total,
        body.current,
        body.size,
      ),
    );
  });
}
