/**
 * Sends hang-up SMS from the outbox (spec §4). Rows are written in the transaction that settles the call;
 * this worker leases due rows, hands each to the transport, and records sent / failed / delivered.
 * A retryable failure (SMSC down, throttled) is retried with back-off; a rejection fails the row for good.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { leaseOutbox, markOutboxFailed } from '../db/queries/outbox.ts';
import { applySmsReceipt, markCallSmsFailed, markSmsSent, parkSmsReceipt } from '../db/queries/sms-outbox.ts';
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
  /** Completed ticks (tests wait on ticks rather than on wall time). */
  ticks = 0;

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
    this.ticks++;
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
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      const early = await markSmsSent(tx, {
        id: row.id,
        callId: row.call_id,
        providerIds: result.providerMessageIds,
        segments: result.segments,
        now,
      });
      // Receipts that beat this transaction were parked; apply them now.
      for (const receipt of early) await applySmsReceipt(tx, receipt, now);
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
      await markCallSmsFailed(this.db, row.call_id);
    }
  }

  private async recordReceipt(receipt: DeliveryReceipt): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      if (!(await applySmsReceipt(tx, receipt, now))) await parkSmsReceipt(tx, receipt, now);
    });
  }
}
