/** Voice files (spec §3): upload (converted once to telephone audio), list, delete. */
import { Type } from '@sinclair/typebox';
import {
  lockOwnedVoiceFiles,
  markVoiceFilesDeleted,
  queryVoiceFiles,
  voiceFilesInUse,
} from '../db/queries/voice-files.ts';
import { notFound, stateConflict } from '../domain/errors.ts';
import { formatInZone } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope, NoData, PageData, VoiceFileRecord } from './responses.ts';
import { IdList, page, withPaging } from './schemas.ts';
import { checkFileName, convertUpload, storeVoiceFile } from './voice-file-store.ts';

const UploadBody = Type.Object({
  fileName: Type.String({ minLength: 5, maxLength: 32 }),
  file: Type.String({ minLength: 1, description: 'base64 mp3, wav or m4a' }),
});
const QueryBody = withPaging(Type.Object({}));
const DeleteBody = Type.Object({ fileIdList: IdList(100) });

export function registerVoiceFileRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/voice/fileUpload',
    { schema: { body: UploadBody, response: { 200: Envelope(Type.String(), 'the new fileId') } } },
    async (request) => {
      const body = request.body;
      checkFileName('fileName', body.fileName);
      const converted = await convertUpload(ctx.media, {
        field: 'file',
        fileName: body.fileName,
        base64: body.file,
        accountId: request.account.id,
      });
      const id = await ctx.db.transaction((tx) =>
        storeVoiceFile(tx, {
          accountId: request.account.id,
          fileName: body.fileName,
          converted,
          now: ctx.clock.now(),
          field: 'fileName',
        }),
      );
      return ok(id);
    },
  );

  app.post(
    '/voice/fileQuery',
    { schema: { body: QueryBody, response: PageData(VoiceFileRecord, 'a page of voice files') } },
    async (request) => {
      const { body, account } = request;
      const { total, rows } = await queryVoiceFiles(ctx.db, account.id, body);
      const records = rows.map((row) => ({
        fileId: String(row.id),
        fileName: row.file_name,
        duration: Math.round(row.duration_ms / 100) / 10,
        size: row.size_bytes,
        createdTime: formatInZone(row.created_at, account.time_zone),
      }));
      return ok(page(records, total, body.current, body.size));
    },
  );

  app.post('/voice/fileDel', { schema: { body: DeleteBody, response: NoData } }, async (request) => {
    const ids = [...new Set(request.body.fileIdList)];
    const account = request.account;
    await ctx.db.transaction(async (tx) => {
      const owned = await lockOwnedVoiceFiles(tx, account.id, ids);
      const missing = ids.filter((id) => !owned.includes(id));
      if (missing.length > 0) throw notFound(`fileIdList: file ${missing.join(', ')}`);
      const inUse = await voiceFilesInUse(tx, account.id);
      const busy = ids.filter((id) => inUse.has(String(id)));
      if (busy.length > 0) {
        throw stateConflict(
          `fileIdList: file ${busy.join(', ')} is used by a pending or running task or recall node`,
        );
      }
      await markVoiceFilesDeleted(tx, ids);
    });
    return ok(null);
  });
}
