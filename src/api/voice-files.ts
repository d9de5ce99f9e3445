/** Voice files (spec §3): upload (converted once to telephone audio), list, delete. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound, stateConflict } from '../domain/errors.ts';
import { effectiveRoundSettings } from '../domain/recall-flow.ts';
import type { NodeSettings, TaskSettings } from '../domain/task-settings.ts';
import { formatInZone } from '../domain/time.ts';
import type { ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { IdList, page, withPaging } from './schemas.ts';
import { checkFileName, convertUpload, insertVoiceFile } from './voice-file-store.ts';

const UploadBody = Type.Object({
  fileName: Type.String({ minLength: 5, maxLength: 32 }),
  file: Type.String({ minLength: 1, description: 'base64 mp3, wav or m4a' }),
});
const QueryBody = withPaging(Type.Object({}));
const DeleteBody = Type.Object({ fileIdList: IdList(100) });

export function registerVoiceFileRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/voice/fileUpload', { schema: { body: UploadBody } }, async (request) => {
    const body = request.body as typeof UploadBody.static;
    checkFileName('fileName', body.fileName);
    const converted = await convertUpload(ctx.media, {
      field: 'file',
      fileName: body.fileName,
      base64: body.file,
      accountId: request.account.id,
    });
    const id = await ctx.db.transaction((tx) =>
      insertVoiceFile(tx, {
        accountId: request.account.id,
        fileName: body.fileName,
        converted,
        now: ctx.clock.now(),
        field: 'fileName',
      }),
    );
    return ok(id);
  });

  app.post('/voice/fileQuery', { schema: { body: QueryBody } }, async (request) => {
    const body = request.body as typeof QueryBody.static;
    const account = request.account;
    const [{ total } = { total: 0 }] = await ctx.db.query<{ total: number }>(
      'SELECT count(*)::int AS total FROM voice_files WHERE account_id = $1 AND NOT deleted',
      [account.id],
    );
    const rows = await ctx.db.query<{
      id: number;
      file_name: string;
      duration_ms: number;
      size_bytes: number;
      created_at: Date;
    }>(
      `SELECT id, file_name, duration_ms, size_bytes, created_at FROM voice_files
       WHERE account_id = $1 AND NOT deleted ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [account.id, body.size, (body.current - 1) * body.size],
    );
    const records = rows.map((row) => ({
      fileId: String(row.id),
      fileName: row.file_name,
      duration: Math.round(row.duration_ms / 100) / 10,
      size: row.size_bytes,
      createdTime: formatInZone(row.created_at, account.time_zone),
    }));
    return ok(page(records, total, body.current, body.size));
  });

  app.post('/voice/fileDel', { schema: { body: DeleteBody } }, async (request) => {
    const ids = [...new Set((request.body as typeof DeleteBody.static).fileIdList)];
    const account = request.account;
    await ctx.db.transaction(async (tx) => {
      const owned = await tx.query<{ id: number }>(
        'SELECT id FROM voice_files WHERE id = ANY($1::int[]) AND account_id = $2 AND NOT deleted FOR UPDATE',
        [ids, account.id],
      );
      const missing = ids.filter((id) => !owned.some((row) => row.id === id));
      if (missing.length > 0) throw notFound(`fileIdList: file ${missing.join(', ')}`);
      const inUse = await filesInUse(tx, account.id);
      const busy = ids.filter((id) => inUse.has(String(id)));
      if (busy.length > 0) {
        throw stateConflict(
          `fileIdList: file ${busy.join(', ')} is used by a pending or running task or recall node`,
        );
      }
      await tx.query('UPDATE voice_files SET deleted = true WHERE id = ANY($1::int[])', [ids]);
    });
    return ok(null);
  });
}

/** Voice file ids used by the account's waiting/running/paused tasks and by its pending recall nodes. */
async function filesInUse(tx: import('../db/db.ts').Queryable, accountId: number): Promise<Set<string>> {
  const used = new Set<string>();
  const tasks = await tx.query<{ file: string | null }>(
    `SELECT settings->>'voiceFileId' AS file FROM tasks WHERE account_id = $1 AND status IN (0, 1, 5, 6)`,
    [accountId],
  );
  for (const { file } of tasks) if (file) used.add(file);
  const nodes = await tx.query<{ given: Partial<NodeSettings> | null; settings: TaskSettings }>(
    `SELECT n.given, t.settings FROM recall_nodes n JOIN recall_flows f ON f.id = n.flow_id
     JOIN tasks t ON t.id = f.task_id WHERE f.account_id = $1 AND n.status = 0 AND f.status IN (0, 1)`,
    [accountId],
  );
  for (const node of nodes) {
    const file = effectiveRoundSettings(node.settings, node.given).voiceFileId;
    if (file) used.add(file);
  }
  return used;
}
