/**
 * The dialer: each tick it starts waiting tasks whose time has come, leases due calls of open tasks
 * within each account's limits, runs them, and finishes drained tasks. Leases are renewed while calls
 * run; leases of a dead process expire and are settled as interrupted (spec §6).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { extendLeases, type LeasedCall, leaseCalls } from '../db/queries/lease-calls.ts';
import { type AttemptResult, settleCall, settleInterrupted } from '../db/queries/settle-call.ts';
import { finishDrainedTasks, type RunningTask, runningTasks, startDueTasks } from '../db/queries/tasks.ts';
import { isOpenAt } from '../domain/windows.ts';
import { type CallSessionDeps, runCall } from './call-session.ts';
import { retryUntilDone } from './loop.ts';

export interface DialerOptions {
  /** This process's lease owner id. */
  owner: string;
  /** Wall-clock time a lease lives without renewal. */
  leaseRealMs: number;
  /** Calls this process runs at once, across accounts. */
  maxInFlight: number;
}

/** outboundControl=1 with a seat group: concurrency follows the group's idle agents (spec §5). */
function isProportional(task: RunningTask): boolean {
  return task.settings.outboundControl === 1 && task.settings.sipGroupId !== undefined;
}

export class Dialer {
  private readonly inFlight = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly session: Omit<CallSessionDeps, 'clock'>,
    private readonly log: Logger,
    private readonly options: DialerOptions,
  ) {}

  get activeCalls(): number {
    return this.inFlight.size;
  }

  /** Clock-time length of a lease: renewals happen in wall-clock time, so the lease scales with the clock. */
  private get leaseMs(): number {
    return this.options.leaseRealMs * this.clock.speed;
  }

  async tick(): Promise<void> {
    const now = this.clock.now();
    await settleInterrupted(this.db, now, this.options.owner);
    await startDueTasks(this.db, now);
    const open = (await runningTasks(this.db)).filter((task) =>
      isOpenAt(task.settings.allowSendTime ?? [], task.time_zone, now),
    );
    const byAccount = new Map<number, RunningTask[]>();
    for (const task of open)
      byAccount.set(task.account_id, [...(byAccount.get(task.account_id) ?? []), task]);
    for (const [accountId, tasks] of byAccount) {
      // Proportional tasks (outboundControl=1) are leased one by one, each within its own agent limit.
      const batches = [
        tasks.filter((task) => !isProportional(task)),
        ...tasks.filter(isProportional).map((task) => [task]),
      ];
      for (const batch of batches) {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room <= 0 || batch.length === 0) continue;
        const [first] = batch;
        const leased = await leaseCalls(this.db, {
          accountId,
          taskIds: batch.map((task) => task.id),
          owner: this.options.owner,
          now: this.clock.now(),
          leaseMs: this.leaseMs,
          max: room,
          ...(first && isProportional(first)
            ? {
                proportional: {
                  groupId: first.settings.sipGroupId!,
                  calloutRate: first.settings.calloutRate,
                },
              }
            : {}),
        });
        const taskById = new Map(batch.map((task) => [task.id, task]));
        for (const call of leased) this.start(call, taskById.get(call.task_id)!);
      }
    }
    await finishDrainedTasks(this.db, this.clock.now());
  }

  async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    await extendLeases(this.db, this.options.owner, this.clock.now() + this.leaseMs);
  }

  private start(call: LeasedCall, task: RunningTask): void {
    const run = runCall(
      { ...this.session, clock: this.clock },
      { callId: call.id, callee: call.callee, info: call.info, round: task.round, settings: task.settings },
    )
      .then((result) => this.settle(call.id, result))
      .catch((error: unknown) => this.log.error({ err: error, callId: call.id }, 'call failed'))
      .finally(() => this.inFlight.delete(call.id));
    this.inFlight.set(call.id, run);
  }

  /** Records the attempt, retrying while the database is unreachable; the lease is renewed meanwhile. */
  private async settle(callId: number, result: AttemptResult): Promise<void> {
    await retryUntilDone(
      () => settleCall(this.db, { callId, owner: this.options.owner, result }),
      (error, attempt) => this.log.warn({ err: error, callId, attempt }, 'settling call failed; retrying'),
    );
  }

  /** Waits for the calls in flight (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
