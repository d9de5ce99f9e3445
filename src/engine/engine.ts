/** Runs the background loops of one process: dialer, lease renewal, recall scheduler, push and SMS outboxes. */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { optOutCallee } from '../db/queries/dnc.ts';
import { withRetries } from '../db/retry.ts';
import { SmsOutboxWorker } from '../sms/outbox-worker.ts';
import type { SmsTransport } from '../sms/transport.ts';
import type { TelephonyDriver } from '../telephony/driver.ts';
import type { ContentPreparer } from './content.ts';
import { Dialer, type DialerEvents } from './dialer.ts';
import { type LoopStats, runLoop, type Waker } from './loop.ts';
import { PushWorker, type PushWorkerOptions } from './push-worker.ts';
import { RecallScheduler } from './recall-scheduler.ts';
import { createSeatTransfer, type SeatTransferOptions } from './seat-transfer.ts';
import type { SettleBatcherOptions } from './settle-batcher.ts';

export interface EngineOptions {
  /** NODE_ID: names this process in leases; each start adds a fresh token to it. */
  owner: string;
  leaseRealMs: number;
  pollMs: number;
  maxInFlight: number;
  /** Results recorded in batches (settle-batcher.ts); default: 5 ms, 200. */
  settleBatch?: SettleBatcherOptions;
  /** Agent wait and ring bounds for transfers (defaults in seat-transfer.ts). */
  seatTransfer?: Partial<SeatTransferOptions>;
  /** Status and agent-ringing push: deadline, apps at once, private targets (defaults in push-worker.ts). */
  push?: Partial<Pick<PushWorkerOptions, 'timeoutMs' | 'maxAppsInFlight' | 'allowPrivate'>>;
}

export class Engine {
  readonly dialer: Dialer;
  readonly recall: RecallScheduler;
  readonly push: PushWorker;
  readonly sms: SmsOutboxWorker;
  /**
   * This run's lease token: NODE_ID plus a fresh random part per process start, so a restart under the
   * same NODE_ID can never renew, settle or hand over the leases of the run that died.
   */
  readonly leaseToken: string;
  private readonly stop = new AbortController();
  /** Aborted when the shutdown grace is over: retries stop, what is left goes to lease expiry. */
  private readonly giveUp = new AbortController();
  private loops: Promise<void>[] = [];
  /** Per loop: completed ticks, failed ticks and the last good tick (readiness, metrics). */
  readonly loopStats: Record<string, LoopStats> = {};

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      driver: TelephonyDriver;
      content: ContentPreparer;
      sms: SmsTransport;
      log: Logger;
      events?: DialerEvents;
    },
    private readonly options: EngineOptions,
  ) {
    const { db, clock, driver, content, log } = deps;
    this.leaseToken = `${options.owner}/${randomBytes(4).toString('hex')}`;
    const leaseMs = () => options.leaseRealMs * clock.speed;
    this.dialer = new Dialer(
      db,
      clock,
      {
        driver,
        prepareAudio: (settings, info, owner) => content.prepare(settings, info, owner),
        onError: (error, callId) => log.error({ err: error, callId }, 'call media failed'),
        optOut: (callId) => withRetries(() => optOutCallee(db, { callId, now: clock.now() })),
        transfer: createSeatTransfer({
          db,
          clock,
          driver,
          log,
          prepareAudio: (settings, info) => content.prepare(settings, info),
          ...(options.seatTransfer ? { options: options.seatTransfer } : {}),
          holdFor: (callId) => ({ owner: this.leaseToken, callId, until: clock.now() + leaseMs() }),
        }),
      },
      log,
      {
        owner: this.leaseToken,
        leaseRealMs: options.leaseRealMs,
        maxInFlight: options.maxInFlight,
        settleBatch: options.settleBatch ?? { waitMs: 5, max: 200 },
      },
      this.giveUp.signal,
      deps.events,
    );
    this.recall = new RecallScheduler(db, clock, log);
    // Outbox rows are leased like calls: a sender that dies leaves them due again after the lease.
    const lease = Math.max(options.leaseRealMs, 1_000);
    this.push = new PushWorker(db, clock, log, { leaseRealMs: lease, ...options.push });
    this.sms = new SmsOutboxWorker(
      db,
      clock,
      deps.sms,
      log,
      { batchSize: 50, maxAttempts: 12, leaseRealMs: lease },
      this.giveUp.signal,
    );
  }

  /** Wall-clock ms the loops started (null before `start`, and again after `stopAndDrain`). */
  startedAt: number | null = null;

  start(): void {
    const { log } = this.deps;
    const signal = this.stop.signal;
    const poll = this.options.pollMs;
    const loop = (name: string, tick: () => Promise<unknown>, intervalMs: number, waker?: Waker) => {
      const stats: LoopStats = { ticks: 0, failures: 0, lastTickAt: null, intervalMs };
      this.loopStats[name] = stats;
      return runLoop(name, tick, intervalMs, signal, log, stats, waker);
    };
    this.loops = [
      loop('dialer', () => this.dialer.tick(), poll, this.dialer.waker),
      loop('leases', () => this.dialer.renewLeases(), this.options.leaseRealMs / 3),
      loop('recall', () => this.recall.tick(), poll),
      loop('push', () => this.push.tick(), poll * 2),
      loop('sms', () => this.sms.tick(), poll * 2),
    ];
    this.startedAt = Date.now();
  }

  /**
   * Stops taking new work and waits for calls in flight to end, for at most `graceMs` (wall clock).
   * After that, retries give up and whatever is still in flight is left to lease expiry: another
   * process (or this one's next start) settles it as interrupted and never dials it again (spec §6).
   */
  async stopAndDrain(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.startedAt = null;
    this.stop.abort();
    await Promise.all(this.loops);
    const timer = Number.isFinite(graceMs) ? setTimeout(() => this.giveUp.abort(), graceMs) : undefined;
    await Promise.race([
      Promise.all([this.dialer.drain(), this.push.drain()]),
      new Promise<void>((resolve) => this.giveUp.signal.addEventListener('abort', () => resolve())),
    ]);
    clearTimeout(timer);
    this.giveUp.abort();
  }
}
