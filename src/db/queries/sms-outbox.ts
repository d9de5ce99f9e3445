/**
 * The SMS outbox's own statements (leasing and failure bookkeeping are shared with the push outbox in
 * `outbox.ts`): recording a sent message, applying delivery receipts, and parking receipts that arrive
 * before the send is recorded.
 */
import { OutboxState, SmsStatus } from '../../domain/stored-states.ts';
import type { Queryable } from '../db.ts';

export interface SmsReceipt {
  providerMessageId: string;
  delivered: boolean;
  status: string;
}

/**
 * Records that the carrier took the message, and returns the receipts that were parked because they beat
 * this write (the caller applies them in the same transaction).
 */
export async function markSmsSent(
  tx: Queryable,
  args: { id: number; callId: number; providerIds: readonly string[]; segments: number; now: number },
): Promise<SmsReceipt[]> {
  await tx.query(
    `UPDATE sms_outbox SET state = '${OutboxState.sent}', provider_ids = $2, segments = $3, last_error = NULL, updated_at = $4
     WHERE id = $1`,
    [args.id, args.providerIds, args.segments, new Date(args.now)],
  );
  await tx.query(
    `UPDATE calls SET sms_status = '${SmsStatus.sent}' WHERE id = $1 AND sms_status = '${SmsStatus.queued}'`,
    [args.callId],
  );
  const parked = await tx.query<{ provider_id: string; delivered: boolean; status: string }>(
    'DELETE FROM sms_receipts WHERE provider_id = ANY($1::text[]) RETURNING provider_id, delivered, status',
    [args.providerIds],
  );
  return parked.map((row) => ({
    providerMessageId: row.provider_id,
    delivered: row.delivered,
    status: row.status,
  }));
}

/** The call's SMS failed for good (rejected, or out of attempts). */
export async function markCallSmsFailed(db: Queryable, callId: number): Promise<void> {
  await db.query(`UPDATE calls SET sms_status = '${SmsStatus.failed}' WHERE id = $1`, [callId]);
}

/**
 * Applies a receipt to the SMS holding that provider id; false when no sent SMS holds it (yet).
 * A failed part marks the whole message failed; a later 'delivered' part does not undo that.
 */
export async function applySmsReceipt(tx: Queryable, receipt: SmsReceipt, now: number): Promise<boolean> {
  const state = receipt.delivered ? OutboxState.delivered : OutboxState.failed;
  const rows = await tx.query<{ call_id: number }>(
    `UPDATE sms_outbox SET state = $2, last_error = $3, updated_at = $4
     WHERE provider_ids @> ARRAY[$1]::text[] AND (state = '${OutboxState.sent}' OR (state = '${OutboxState.delivered}' AND $2 = '${OutboxState.failed}'))
     RETURNING call_id`,
    [receipt.providerMessageId, state, receipt.delivered ? null : receipt.status, new Date(now)],
  );
  for (const { call_id } of rows) {
    await tx.query('UPDATE calls SET sms_status = $2 WHERE id = $1', [call_id, state]);
  }
  if (rows.length > 0) return true;
  const known = await tx.query('SELECT 1 FROM sms_outbox WHERE provider_ids @> ARRAY[$1]::text[]', [
    receipt.providerMessageId,
  ]);
  return known.length > 0;
}

/** Keeps a receipt for a message whose send is not recorded yet; `markSmsSent` hands it back. */
export async function parkSmsReceipt(tx: Queryable, receipt: SmsReceipt, now: number): Promise<void> {
  await tx.query(
    `INSERT INTO sms_receipts (provider_id, delivered, status, received_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (provider_id) DO NOTHING`,
    [receipt.providerMessageId, receipt.delivered, receipt.status, new Date(now)],
  );
}
