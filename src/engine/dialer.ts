/**
 * The dialer: each tick it settles attempts whose lease expired, starts waiting tasks whose time has
 * come, leases due calls account by account (round robin) within each account's limits, hands them to
 * the carrier, and finishes drained tasks. Leases carry this run's token and are renewed by the ids in
 * flight, so a restarted process with the same NODE_ID never mistakes a dead run's calls for its own.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { extendAgentHolds } from '../db/queries/agents.ts';
import {
  dispatchLeased,
  extendLeases,
  giveBackLeased,
  giveBackUnconfirmedLease,
  type LeasedCall,
  type LeasedTask,
  leaseCalls,
  runnableAccounts,
} from '../db/queries/lease-calls.ts';
import {
  type AttemptResult,
  attemptWithoutProgress,
  type Settlement,
  settleCalls,
  settleExpiredLeases,
} from '../db/queries/settle-call.ts';
import { finishDrainedTasks, startDueTasks } from '../db/queries/tasks.ts';
import { isConnectionLost, withRetries } from '../db/retry.ts';
import { dialFailedOutcome, interruptedOutcome } from '../domain/outcome.ts';
import { type CallSessionDeps, runCall } from './call-session.ts';
import { Waker } from './loop.ts';
import { SettleBatcher, type SettleBatcherOptions } from './settle-batcher.ts';

export interface DialerOptions {
  /** This run's lease token: unique per process start (see Engine). */
  owner: string;
  /** Wall-clock time a lease lives without renewal. */
  leaseRealMs: number;
  /** Calls this process runs at once, across accounts. */
  maxInFlight: number;
  /** Results are recorded in batches (settle-batcher.ts). */
  settleBatch: SettleBatcherOptions;
}

/** What the dialer reports as it goes (metrics); every hook is optional. */
export interface DialerEvents {
  /** An attempt was committed and handed to the carrier. */
  callStarted?(): void;
  /** An attempt was recorded with this callStatus (this process's own calls, and lease take-overs). */
  callSettled?(callStatus: number): void;
  /** Calls of a dead run (or a lost lease) settled as interrupted by this process's sweep. */
  leaseTakeover?(count: number, callStatus: number): void;
}

export class Dialer {
  /** Calls leased by this run and not yet settled or given back: their leases are renewed. */
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Calls handed to the carrier and not yet settled. */
  private readonly running = new Set<number>();
  /**
   * Calls dialled whose recording failed for good, by the moment of their lease: left to the lease sweep,
   * never to be given back by a reclaim of a lease taken at that same moment.
   */
  private readonly leftToSweep = new Map<number, number>();
  /** Leases whose answer was lost with the connection: they may have been committed (see reclaim). */
  private readonly unconfirmedLeases: Array<{ accountId: number; at: number }> = [];
  /** Round robin: the account served last; the next tick starts after it. */
  private lastAccount = 0;
  readonly settler: SettleBatcher;
  /** Woken when a quarter of this process's room is free again, so the room is not idle until the next poll. */
  readonly waker = new Waker();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly session: Omit<CallSessionDeps, 'clock'>,
    private readonly log: Logger,
    private readonly options: DialerOptions,
    /** Aborted at the end of the shutdown grace: settling still failing then is left to the lease sweep. */
    private readonly giveUp: AbortSignal = new AbortController().signal,
    private readonly events: DialerEvents = {},
  ) {
    this.settler = new SettleBatcher((batch) => this.record(batch), options.settleBatch);
  }

  /** Completed ticks (tests wait on ticks rather than on wall time). */
  ticks = 0;

  get activeCalls(): number {
    return this.inFlight.size;
  }

  /** Clock-time length of a lease: renewals happen in wall-clock time, so the lease scales with the clock. */
  get leaseMs(): number {
    return this.options.leaseRealMs * this.clock.speed;
  }

  async tick(): Promise<void> {
    // Before the sweep, which would write a lost lease's calls off as interrupted once it expires.
    await this.reclaimUnconfirmedLeases();
    const swept = await settleExpiredLeases(this.db, {
      now: this.clock.now(),
      skipIds: [...this.inFlight.keys()],
    });
    if (swept > 0) {
      this.log.info({ count: swept }, 'lease takeover: settled calls whose lease expired as interrupted');
      this.events.leaseTakeover?.(swept, interruptedOutcome.callStatus);
    }
    for (const taskId of await startDueTasks(this.db, this.clock.now()))
      this.log.info({ taskId }, 'task started');
    await this.leaseAndDial();
    for (const taskId of await finishDrainedTasks(this.db, this.clock.now()))
      this.log.info({ taskId }, 'task finished');
    this.ticks++;
  }

  /**
   * Accounts take turns, starting after the one served last; each gets at most an equal share of this
   * process's free room per tick, so one account's backlog cannot crowd another out.
   */
  private async leaseAndDial(): Promise<void> {
    if (this.options.maxInFlight - this.inFlight.size <= 0) return;
    const accounts = await runnableAccounts(this.db, this.clock.now());
    if (accounts.length === 0) return;
    const start = accounts.findIndex((id) => id > this.lastAccount);
    const order = start <= 0 ? accounts : [...accounts.slice(start), ...accounts.slice(0, start)];
    const share = Math.ceil((this.options.maxInFlight - this.inFlight.size) / order.length);
    for (const accountId of order) {
      const room = Math.min(share, this.options.maxInFlight - this.inFlight.size);
      if (room <= 0) break;
      this.lastAccount = accountId;
      const now = this.clock.now();
      let lease: Awaited<ReturnType<typeof leaseCalls>>;
      try {
        lease = await leaseCalls(this.db, {
          accountId,
          owner: this.options.owner,
          now,
          leaseMs: this.leaseMs,
          max: room,
        });
      } catch (error) {
        if (isConnectionLost(error)) this.unconfirmedLeases.push({ accountId, at: now });
        throw error;
      }
      if (lease.calls.length === 0) continue;
      // Registered before the hand-over so lease renewal covers them from the start.
      for (const call of lease.calls) this.inFlight.set(call.id, Promise.resolve());
      let handedOver = false;
      try {
        await dispatchLeased(
          this.db,
          { owner: this.options.owner, accountId, now: this.clock.now(), calls: lease.calls },
          (call) => this.start(call, lease.tasks.get(call.task_id)!, now),
        );
        handedOver = true;
      } finally {
        const notStarted = lease.calls.filter((call) => !this.running.has(call.id)).map((call) => call.id);
        // After a hand-over, calls not started were given back by it (task paused or cancelled meanwhile)
        // or recorded (do-not-call): not ours to renew. After a failed one they were never dialled: they
        // are given back, retried until the database answers, rather than written off by the sweep.
        if (handedOver) for (const id of notStarted) this.inFlight.delete(id);
        else this.giveBack(notStarted);
      }
    }
  }

  /**
   * Gives back the calls of leases whose COMMIT may have happened unseen (see giveBackUnconfirmedLease).
   * Kept until the database answers: the next ticks try again first.
   */
  private async reclaimUnconfirmedLeases(): Promise<void> {
    while (this.unconfirmedLeases.length > 0) {
      const { accountId, at } = this.unconfirmedLeases[0]!;
      const count = await giveBackUnconfirmedLease(this.db, {
        owner: this.options.owner,
        accountId,
        at,
        knownIds: [...this.inFlight.keys(), ...this.leftToSweep.keys()],
      });
      this.unconfirmedLeases.shift();
      if (count > 0)
        this.log.info(
          { count, accountId },
          'calls of a lease lost with the connection given back to be dialled',
        );
    }
    // Leases from now on are stamped with a later moment than these: they can no longer be confused.
    const now = this.clock.now();
    for (const [callId, leasedAt] of this.leftToSweep) if (leasedAt < now) this.leftToSweep.delete(callId);
  }

  /** Gives back leased calls never handed to the carrier; their leases are renewed until it is done. */
  private giveBack(callIds: number[]): void {
    if (callIds.length === 0) return;
    const done = withRetries(() => giveBackLeased(this.db, { owner: this.options.owner, callIds }), {
      signal: this.giveUp,
      onRetry: (error, attempt) =>
        this.log.warn(
          { err: error, calls: callIds.length, attempt },
          'giving back undialled calls failed; retrying',
        ),
    })
      .then((count) => this.log.info({ count }, 'calls never handed to the carrier given back to be dialled'))
      .catch((error: unknown) =>
        this.log.error(
          { err: error, calls: callIds.length },
          'giving back undialled calls failed; left to the lease sweep',
        ),
      )
      .finally(() => {
        for (const id of callIds) this.inFlight.delete(id);
      });
    for (const id of callIds) this.inFlight.set(id, done);
  }

  async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const callIds = [...this.inFlight.keys()];
    const until = this.clock.now() + this.leaseMs;
    await extendLeases(this.db, { owner: this.options.owner, callIds, until });
    await extendAgentHolds(this.db, { owner: this.options.owner, callIds, until });
  }

  /** Starts one call leased at `leasedAt`; must not throw (it runs inside the hand-over transaction). */
  private start(call: LeasedCall, task: LeasedTask, leasedAt: number): void {
    this.running.add(call.id);
    this.events.callStarted?.();
    this.log.debug({ callId: call.id, taskId: call.task_id, round: task.round }, 'call started');
    let attempt: Promise<AttemptResult>;
    try {
      attempt = runCall(
        { ...this.session, clock: this.clock },
        { callId: call.id, callee: call.callee, info: call.info, round: task.round, settings: task.settings },
      );
    } catch (error) {
      // The driver refused synchronously: the attempt is recorded as failed, the batch goes on.
      this.log.error({ err: error, callId: call.id }, 'the carrier driver failed to place the call');
      attempt = Promise.resolve(attemptWithoutProgress(dialFailedOutcome(error), this.clock.now()));
    }
    const run = attempt
      .then((result) => this.settle(call.id, result))
      .catch((error: unknown) => {
        this.leftToSweep.set(call.id, leasedAt);
        this.log.error({ err: error, callId: call.id }, 'recording the call failed; left to the lease sweep');
      })
      .finally(() => {
        this.running.delete(call.id);
        this.inFlight.delete(call.id);
        if (this.options.maxInFlight - this.inFlight.size >= Math.ceil(this.options.maxInFlight / 4))
          this.waker.wake();
      });
    this.inFlight.set(call.id, run);
  }

  /** Records the attempt (in a batch with others); the lease is renewed until it is recorded. */
  private async settle(callId: number, result: AttemptResult): Promise<void> {
    if (await this.settler.settle({ callId, result })) {
      this.events.callSettled?.(result.callStatus);
      this.log.debug({ callId, callStatus: result.callStatus }, 'call settled');
    }
  }

  /** Writes one batch, retrying transient database failures until the shutdown grace is over. */
  private async record(batch: Settlement[]): Promise<ReadonlySet<number>> {
    const rows = await withRetries(
      () => settleCalls(this.db, { owner: this.options.owner, settlements: batch }),
      {
        signal: this.giveUp,
        onRetry: (error, attempt) =>
          this.log.warn(
            { err: error, calls: batch.length, attempt },
            'settling a batch of calls failed; retrying',
          ),
      },
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Waits for the calls in flight (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
