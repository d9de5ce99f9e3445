import type { Queryable } from '../db.ts';

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
