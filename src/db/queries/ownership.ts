/**
 * Ownership of ids a request or a round refers to, checked at the point of use: a voice file belongs to
 * the account and is not deleted; a seat group belongs to the app. Ids come from clients, so callers
 * pass only ids already known to fit the int4 columns (see src/domain/ids.ts).
 */
import type { Queryable } from '../db.ts';
import { firstRow, hasOneRow } from './rows.ts';

/**
 * Whether the account has this voice file, not deleted. With `lock`, the row is share-locked until the
 * transaction ends, so a concurrent /voice/fileDel (which locks it for update) waits and then sees the
 * task or node that now uses the file.
 */
export async function ownsVoiceFile(
  db: Queryable,
  args: { accountId: number; fileId: number; lock?: boolean },
): Promise<boolean> {
  return hasOneRow(
    db,
    `SELECT id FROM voice_files WHERE id = $1 AND account_id = $2 AND NOT deleted${args.lock ? ' FOR SHARE' : ''}`,
    [args.fileId, args.accountId],
  );
}

/** Whether the seat group belongs to the owner that `ownerColumn` names. */
async function seatGroupOwnedBy(
  db: Queryable,
  ownerColumn: 'app_id' | 'account_id',
  ownerId: number,
  groupId: number,
): Promise<boolean> {
  return hasOneRow(db, `SELECT id FROM seat_groups WHERE id = $1 AND ${ownerColumn} = $2`, [
    groupId,
    ownerId,
  ]);
}

/** Whether the seat group belongs to the app (and so to the app's account). */
export async function appHasSeatGroup(
  db: Queryable,
  args: { appId: number; groupId: number },
): Promise<boolean> {
  return seatGroupOwnedBy(db, 'app_id', args.appId, args.groupId);
}

/** Whether the seat group belongs to the account (a recall round re-checks the group its settings name). */
export async function accountHasSeatGroup(
  db: Queryable,
  args: { accountId: number; groupId: number },
): Promise<boolean> {
  return seatGroupOwnedBy(db, 'account_id', args.accountId, args.groupId);
}

/** Whether the SIP phone account (by user name) is one of the account's. */
export async function ownsSipAccount(db: Queryable, args: { accountId: number; username: string }) {
  return hasOneRow(db, 'SELECT id FROM sip_accounts WHERE username = $1 AND account_id = $2', [
    args.username,
    args.accountId,
  ]);
}

/** Whether the account exists and is enabled. */
export async function accountEnabled(db: Queryable, accountId: number): Promise<boolean> {
  return hasOneRow(db, 'SELECT id FROM accounts WHERE id = $1 AND NOT disabled', [accountId]);
}

/** Whether the voice file belongs to the account that owns this call and is not deleted. */
export async function callMayPlayFile(
  db: Queryable,
  args: { callId: number; fileId: number },
): Promise<boolean> {
  return hasOneRow(
    db,
    `SELECT v.id FROM calls c JOIN voice_files v ON v.account_id = c.account_id
     WHERE c.id = $1 AND v.id = $2 AND NOT v.deleted`,
    [args.callId, args.fileId],
  );
}

/** The stored audio of a voice file (ownership is checked separately, per call). */
export async function voiceFileAudio(db: Queryable, fileId: number): Promise<Uint8Array | undefined> {
  const row = await firstRow<{ audio: Uint8Array }>(db, 'SELECT audio FROM voice_files WHERE id = $1', [
    fileId,
  ]);
  return row?.audio;
}
