/**
 * [ours] `/voice/recordGroupExport`: the call records matching the same params as `/voice/recordGroupQuery`
 * (without paging), streamed as CSV (src/domain/csv.ts: UTF-8 with BOM, RFC 4180, formula-safe cells).
 * The server reads 2,000 records at a time in voiceId order and writes them as they come, so an export of
 * 200,000 records holds one batch in memory. Bad params answer the JSON envelope (-22) instead of CSV.
 */
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { walkRecords } from '../db/queries/records.ts';
import type { CallRecord } from '../domain/call-record.ts';
import { csvLine, utf8Bom } from '../domain/csv.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { checkFilterTasks, RecordFilterSchema, readRecordFilter, recordOf } from './records.ts';
import { Produces } from './responses.ts';

const ExportBody = Type.Object({ params: Type.Optional(RecordFilterSchema) });

const textColumns = [
  'text1',
  'text2',
  'text3',
  'text4',
  'text5',
  'text6',
  'text7',
  'text8',
  'text9',
  'text10',
];

/** The record fields in API order, then the callee's texts one per column (easier in a spreadsheet). */
export const exportColumns = [
  'voiceId',
  'taskId',
  'sourceTaskId',
  'outRecallCount',
  'callee',
  'displayNum',
  'submitTime',
  'callTime',
  'ringingTime',
  'answerTime',
  'hangupTime',
  'ringDuration',
  'callDuration',
  'terminationCode',
  'terminationReason',
  'callStatus',
  'feedbackValue',
  'calledInfo',
  'smsStatus',
  'seat',
  'hangupBy',
  ...textColumns,
] as const;

function exportRow(record: CallRecord): string {
  const info = JSON.parse(record.calledInfo) as Record<string, string>;
  const fields = record as unknown as Record<string, string | number | null>;
  return csvLine(exportColumns.map((column) => (column.startsWith('text') ? info[column] : fields[column])));
}

export function registerExportRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/voice/recordGroupExport',
    {
      schema: {
        body: ExportBody,
        description:
          '[ours] CSV of the call records matching the recordGroupQuery params (no paging), streamed. Errors are the JSON envelope.',
        produces: ['text/csv'],
        response: Produces('text/csv', 'the records as CSV'),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const filter = readRecordFilter(request.account, body.params);
      await checkFilterTasks(ctx, request.account, filter);
      const zone = request.account.time_zone;
      const name = filter.sourceTaskId ?? filter.taskId;
      async function* csv() {
        yield utf8Bom + csvLine([...exportColumns]);
        for await (const rows of walkRecords(ctx.db, filter)) {
          yield rows.map((row) => exportRow(recordOf(row, zone))).join('');
        }
      }
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="records${name ? `-${name}` : ''}.csv"`);
      return reply.send(Readable.from(csv()));
    },
  );
}
