/**
 * Sends hang-up SMS from the outbox (spec §4). Rows are written in the transaction that settles the call;
 * this worker leases due rows, hands each to the transport, and records sent / failed / delivered.
 * A retryable failure (SMSC down, throttled) is retried with back-off; a rejection fails the row for good.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db, Queryable } from '../db/db.ts';
import { leaseOutbox, markOutboxFailed } from '../db/queries/outbox.ts';
import { withRetries } from '../db/retry.ts';
import { type DeliveryReceipt, SmsSendError, type SmsSendResult, type SmsTransport } from './transport.ts';

interface SmsRow {
  id: number;
  call_id: number;
  recipient: string;
  sender_id: string;
  content: string;
  attempts: number;
}

export class SmsOutboxWorker {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly transport: SmsTransport,
    private readonly log: Logger,
    private readonly options = { batchSize: 50, maxAttempts: 12, leaseRealMs: 60_000 },
    /** Aborted at shutdown: a write still failing then is left to the row's lease. */
    private readonly signal?: AbortSignal,
  ) {
    transport.onReceipt((receipt) => {
      void this.recordReceipt(receipt).catch((error: unknown) =>
        this.log.error({ err: error, receipt }, 'recording a delivery receipt failed'),
      );
    });
  }

  async tick(): Promise<number> {
    const rows = await leaseOutbox<SmsRow>(this.db, 'sms_outbox', {
      now: this.clock.now(),
      leaseMs: this.options.leaseRealMs * this.clock.speed,
      limit: this.options.batchSize,
      columns: 'id, call_id, recipient, sender_id, content, attempts',
    });
    for (const row of rows) await this.send(row);
    return rows.length;
  }

  private async send(row: SmsRow): Promise<void> {
    let result: SmsSendResult;
    try {
      result = await this.transport.send({
        id: String(row.id),
        to: row.recipient,
        from: row.sender_id,
        text: row.content,
      });
    } catch (error) {
      await this.sendFailed(row, error);
      return;
    }
    // The carrier has the message now: recording that must not lead to sending it again, so a failing
    // database write is retried here (the row's lease keeps other workers off it meanwhile).
    await withRetries(() => this.markSent(row, result), {
      ...(this.signal ? { signal: this.signal } : {}),
      onRetry: (error, attempt) =>
        this.log.warn({ err: error, smsId: row.id, attempt }, 'recording a sent SMS failed; retrying'),
    }).catch((error: unknown) =>
      this.log.error(
        { err: error, smsId: row.id },
        'recording a sent SMS failed for good; left to its lease',
      ),
    );
  }

  private async markSent(row: SmsRow, result: SmsSendResult): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE sms_outbox SET state = 'sent', provider_ids = $2, segments = $3, last_error = NULL, updated_at = $4
         WHERE id = $1`,
        [row.id, result.providerMessageIds, result.segments, new Date(this.clock.now())],
      );
      await tx.query("UPDATE calls SET sms_status = 'sent' WHERE id = $1 AND sms_status = 'queued'", [
        row.call_id,
      ]);
      // Receipts that beat this transaction were parked; apply them now.
      const early = await tx.query<{ provider_id: string; delivered: boolean; status: string }>(
        'DELETE FROM sms_receipts WHERE provider_id = ANY($1::text[]) RETURNING provider_id, delivered, status',
        [result.providerMessageIds],
      );
      for (const receipt of early) {
        const parked = {
          providerMessageId: receipt.provider_id,
          delivered: receipt.delivered,
          status: receipt.status,
        };
        await applyReceipt(tx, parked, this.clock.now());
      }
    });
  }

  private async sendFailed(row: SmsRow, error: unknown): Promise<void> {
    const retryable = !(error instanceof SmsSendError) || error.retryable;
    const message = error instanceof Error ? error.message : String(error);
    const giveUp = !retryable || row.attempts >= this.options.maxAttempts;
    this.log.warn({ smsId: row.id, attempts: row.attempts, retryable, error: message }, 'SMS send failed');
    const changed = await markOutboxFailed(this.db, 'sms_outbox', {
      leased: [{ id: row.id, attempts: row.attempts }],
      now: this.clock.now(),
      error: message,
      giveUp,
    });
    if (giveUp && changed.length > 0) {
      this.log.warn(
        { smsId: row.id, callId: row.call_id, attempts: row.attempts, error: message },
        'SMS given up',
      );
      await this.db.query("UPDATE calls SET sms_status = 'failed' WHERE id = $1", [row.call_id]);
    }
  }

  private async recordReceipt(receipt: DeliveryReceipt): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      if (!(await applyReceipt(tx, receipt, now))) {
        await tx.query(
          `INSERT INTO sms_receipts (provider_id, delivered, status, received_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (provider_id) DO NOTHING`,
          [receipt.providerMessageId, receipt.delivered, receipt.status, new Date(now)],
        );
      }
    });
  }
}

/**
 * Applies a receipt to the SMS holding that provider id; false when no sent SMS holds it (yet).
 * A failed part marks the whole message failed; a later 'delivered' part does not undo that.
 */
async function applyReceipt(tx: Queryable, receipt: DeliveryReceipt, now: number): Promise<boolean> {
  const state = receipt.delivered ? 'delivered' : 'failed';
  const rows = await tx.query<{ call_id: number }>(
    `UPDATE sms_outbox SET state = $2, last_error = $3, updated_at = $4
     WHERE provider_ids @> ARRAY[$1]::text[] AND (state = 'sent' OR (state = 'delivered' AND $2 = 'failed'))
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
