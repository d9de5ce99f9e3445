import { effectiveRoundSettings, FlowStatus } from '../../domain/recall-flow.ts';
import type { NodeSettings, TaskSettings } from '../../domain/task-settings.ts';
import { openStatuses } from '../../domain/task-status.ts';
import type { Queryable } from '../db.ts';
import { pagedQuery } from './paging.ts';

/** A voice file's stored telephone audio, if it is the account's and not deleted. */
export async function getVoiceFileAudio(
  db: Queryable,
  accountId: number,
  fileId: number,
): Promise<{ id: number; file_name: string; audio: Uint8Array } | undefined> {
  const [row] = await db.query<{ id: number; file_name: string; audio: Uint8Array }>(
    'SELECT id, file_name, audio FROM voice_files WHERE id = $1 AND account_id = $2 AND NOT deleted',
    [fileId, accountId],
  );
  return row;
}

/** Stores a converted voice file; null when the account already has a file of that name. */
export async function insertVoiceFile(
  tx: Queryable,
  args: {
    accountId: number;
    fileName: string;
    format: string;
    durationMs: number;
    audio: Uint8Array;
    now: number;
  },
): Promise<number | null> {
  const [row] = await tx.query<{ id: number }>(
    `INSERT INTO voice_files (account_id, file_name, format, duration_ms, size_bytes, audio, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
    [
      args.accountId,
      args.fileName,
      args.format,
      args.durationMs,
      args.audio.length,
      args.audio,
      new Date(args.now),
    ],
  );
  return row?.id ?? null;
}

export interface VoiceFileListRow {
  id: number;
  file_name: string;
  duration_ms: number;
  size_bytes: number;
  created_at: Date;
}

/** One page of an account's voice files, newest first (spec §5 fileQuery). */
export const queryVoiceFiles = pagedQuery<number, VoiceFileListRow>(
  {
    select: 'id, file_name, duration_ms, size_bytes, created_at',
    from: 'voice_files',
    where: 'account_id = $1 AND NOT deleted',
    orderBy: 'id DESC',
  },
  (accountId) => [accountId],
);

/** Locks the given files that are the account's and not deleted; returns their ids. */
export async function lockOwnedVoiceFiles(
  tx: Queryable,
  accountId: number,
  ids: readonly number[],
): Promise<number[]> {
  const rows = await tx.query<{ id: number }>(
    'SELECT id FROM voice_files WHERE id = ANY($1::int[]) AND account_id = $2 AND NOT deleted FOR UPDATE',
    [ids, accountId],
  );
  return rows.map((row) => row.id);
}

export async function markVoiceFilesDeleted(tx: Queryable, ids: readonly number[]): Promise<void> {
  await tx.query('UPDATE voice_files SET deleted = true WHERE id = ANY($1::int[])', [ids]);
}

/** Voice file ids used by the account's not-yet-ended tasks and by its pending recall nodes. */
export async function voiceFilesInUse(tx: Queryable, accountId: number): Promise<Set<string>> {
  const used = new Set<string>();
  const tasks = await tx.query<{ file: string | null }>(
    `SELECT settings->>'voiceFileId' AS file FROM tasks WHERE account_id = $1 AND status = ANY($2::smallint[])`,
    [accountId, openStatuses],
  );
  for (const { file } of tasks) if (file) used.add(file);
  const nodes = await tx.query<{ given: Partial<NodeSettings> | null; settings: TaskSettings }>(
    `SELECT n.given, t.settings FROM recall_nodes n JOIN recall_flows f ON f.id = n.flow_id
     JOIN tasks t ON t.id = f.task_id
     WHERE f.account_id = $1 AND n.status = ${FlowStatus.pending} AND f.status IN (${FlowStatus.pending}, ${FlowStatus.inProgress})`,
    [accountId],
  );
  for (const node of nodes) {
    const file = effectiveRoundSettings(node.settings, node.given).voiceFileId;
    if (file) used.add(file);
  }
  return used;
}
