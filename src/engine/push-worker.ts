/**
 * Status-report push (spec §3): settled calls are POSTed to their app's callback URL as a JSON array,
 * at least once. Rows are written in the settle transaction; this worker leases them, retries with
 * back-off, and gives up after `maxAttempts` (the row stays, state 'failed', with its last error).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { leaseOutbox, markOutboxFailed } from '../db/queries/outbox.ts';

export interface PushWorkerOptions {
  batchSize: number;
  maxAttempts: number;
  timeoutMs: number;
  leaseRealMs: number;
}

export class PushWorker {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: PushWorkerOptions = {
      batchSize: 100,
      maxAttempts: 20,
      timeoutMs: 10_000,
      leaseRealMs: 30_000,
    },
  ) {}

  async tick(): Promise<number> {
    const rows = await leaseOutbox<{ id: number; app_id: number; payload: unknown; attempts: number }>(
      this.db,
      'push_outbox',
      {
        now: this.clock.now(),
        leaseMs: this.options.leaseRealMs * this.clock.speed,
        limit: this.options.batchSize,
        columns: 'id, app_id, payload, attempts',
      },
    );
    if (rows.length === 0) return 0;
    const byApp = new Map<number, typeof rows>();
    for (const row of rows) byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), row]);
    await Promise.all([...byApp].map(([appId, batch]) => this.deliver(appId, batch)));
    return rows.length;
  }

  private async deliver(appId: number, batch: Array<{ id: number; payload: unknown; attempts: number }>) {
    const ids = batch.map((row) => row.id);
    const [app] = await this.db.query<{ callback_url: string | null }>(
      'SELECT callback_url FROM apps WHERE id = $1',
      [appId],
    );
    const attempts = Math.max(...batch.map((row) => row.attempts));
    try {
      if (!app?.callback_url) throw new Error('the app has no callback URL');
      const response = await fetch(app.callback_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map((row) => row.payload)),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
      if (response.status !== 200) throw new Error(`callback answered HTTP ${response.status}`);
      await this.db.query(
        "UPDATE push_outbox SET state = 'sent', last_error = NULL WHERE id = ANY($1::int[])",
        [ids],
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn({ appId, count: ids.length, attempts, error: message }, 'status push failed; will retry');
      await markOutboxFailed(this.db, 'push_outbox', {
        leased: batch.map((row) => ({ id: row.id, attempts: row.attempts })),
        now: this.clock.now(),
        error: message,
        giveUp: attempts >= this.options.maxAttempts,
      });
    }
  }
}
