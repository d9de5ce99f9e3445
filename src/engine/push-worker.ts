/**
 * Status-report push (spec §3) and agent-ringing push (spec §3 Agents): rows of the push outbox are POSTed
 * to their app's callback URL, at least once. Status rows are written in the settle transaction and sent
 * as a JSON array per app; agent-ringing rows are sent one object each. This worker leases due rows,
 * retries with back-off, and gives up after `maxAttempts` (3 for agent-ringing, as the spec says); the
 * row stays, state 'failed', with its last error.
 *
 * Receivers are isolated from each other: each app has at most one delivery in flight from this process,
 * the tick never waits for a delivery, and the rows of an app still being delivered to are not leased.
 * A receiver that never answers therefore delays only its own app's pushes, by its request deadline.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import {
  appCallbackUrl,
  type LeasedPush,
  leasePushOutbox,
  markOutboxFailed,
  markPushSent,
} from '../db/queries/outbox.ts';
import { postCallback } from './callback-http.ts';

export interface PushWorkerOptions {
  batchSize: number;
  maxAttempts: number;
  /** Deadline of one POST, wall-clock ms. */
  timeoutMs: number;
  leaseRealMs: number;
  /** Apps delivered to at once by this process. */
  maxAppsInFlight: number;
  /** Callback URLs may point at private addresses (CALLBACK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/** The spec's agent-ringing push: "up to 3 tries". */
const agentRingingMaxAttempts = 3;

export const defaultPushWorkerOptions: PushWorkerOptions = {
  batchSize: 100,
  maxAttempts: 20,
  timeoutMs: 5_000,
  leaseRealMs: 30_000,
  maxAppsInFlight: 64,
  allowPrivate: false,
};

export class PushWorker {
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly options: PushWorkerOptions;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: Partial<PushWorkerOptions> = {},
  ) {
    this.options = { ...defaultPushWorkerOptions, ...options };
  }

  /** Leases due rows of apps not already being delivered to and starts their deliveries; never waits for them. */
  async tick(): Promise<number> {
    if (this.inFlight.size >= this.options.maxAppsInFlight) return 0;
    const rows = await leasePushOutbox(this.db, {
      now: this.clock.now(),
      // A delivery takes at most its deadline; the lease outlives it so no other sender takes the rows meanwhile.
      leaseMs: Math.max(this.options.leaseRealMs, this.options.timeoutMs * 3) * this.clock.speed,
      limit: this.options.batchSize,
      skipApps: [...this.inFlight.keys()],
    });
    const byApp = new Map<number, LeasedPush[]>();
    for (const row of rows) {
      const list = byApp.get(row.app_id);
      if (list) list.push(row);
      else byApp.set(row.app_id, [row]);
    }
    for (const [appId, batch] of byApp) {
      const delivery = this.deliver(appId, batch)
        .catch((error: unknown) => this.log.error({ err: error, appId }, 'push delivery failed'))
        .finally(() => this.inFlight.delete(appId));
      this.inFlight.set(appId, delivery);
    }
    return rows.length;
  }

  /** Waits for the deliveries in flight (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async deliver(appId: number, batch: LeasedPush[]): Promise<void> {
    const url = await appCallbackUrl(this.db, appId);
    // One POST per agent-ringing push, then one for the call records: in order, one at a time.
    const posts: Array<{ rows: LeasedPush[]; body: unknown; maxAttempts: number }> = [];
    for (const row of batch.filter((r) => r.kind === 'agent-ringing'))
      posts.push({ rows: [row], body: row.payload, maxAttempts: agentRingingMaxAttempts });
    const records = batch.filter((r) => r.kind !== 'agent-ringing');
    if (records.length > 0)
      posts.push({
        rows: records,
        body: records.map((r) => r.payload),
        maxAttempts: this.options.maxAttempts,
      });
    for (const post of posts) {
      const leased = post.rows.map((row) => ({ id: row.id, attempts: row.attempts }));
      const attempts = Math.max(...leased.map((row) => row.attempts));
      try {
        if (!url) throw new Error('the app has no callback URL');
        const status = await postCallback(url, JSON.stringify(post.body), {
          timeoutMs: this.options.timeoutMs,
          allowPrivate: this.options.allowPrivate,
        });
        if (status !== 200) throw new Error(`callback answered HTTP ${status}`);
        await markPushSent(this.db, leased);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.log.warn({ appId, count: leased.length, attempts, error: message }, 'push failed; will retry');
        const giveUp = attempts >= post.maxAttempts;
        const changed = await markOutboxFailed(this.db, 'push_outbox', {
          leased,
          now: this.clock.now(),
          error: message,
          giveUp,
        });
        if (giveUp && changed.length > 0)
          this.log.warn(
            { appId, count: changed.length, attempts, error: message },
            'push given up: outbox rows marked failed',
          );
      }
    }
  }
}
