/**
 * Upload conversions shared fairly between accounts: at most `concurrency` run at once, at most
 * `perAccount` of them for one account, and the accounts waiting are served in turn (round robin), so
 * one account's burst of large files cannot starve another's small one. The queue is bounded in size
 * (per account too) and in waiting time; a conversion's own time limit starts when it starts, not when
 * it was queued (the caller applies it to `work`).
 */
import { MediaBusyError, type UploadLimits } from './types.ts';

type QueueLimits = Pick<UploadLimits, 'concurrency' | 'perAccount' | 'queueSize' | 'queueWaitMs'>;

interface Waiting {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class FairQueue {
  private running = 0;
  private readonly runningBy = new Map<string, number>();
  /** Waiting jobs per owner; Map order is the round-robin order (an owner served goes to the back). */
  private readonly waiting = new Map<string, Waiting[]>();
  private waitingCount = 0;

  constructor(private readonly limits: QueueLimits) {}

  /** One account may hold at most a quarter of the queue (at least one place). */
  private get perOwnerQueue(): number {
    return Math.max(1, Math.floor(this.limits.queueSize / 4));
  }

  stats() {
    return { running: this.running, waiting: this.waitingCount };
  }

  run<T>(owner: string, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        this.runningBy.set(owner, (this.runningBy.get(owner) ?? 0) + 1);
        work()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            const left = (this.runningBy.get(owner) ?? 1) - 1;
            if (left > 0) this.runningBy.set(owner, left);
            else this.runningBy.delete(owner);
            this.dispatch();
          });
      };
      if (this.canStart(owner) && !this.waiting.has(owner)) {
        start();
        return;
      }
      const mine = this.waiting.get(owner) ?? [];
      if (this.waitingCount >= this.limits.queueSize || mine.length >= this.perOwnerQueue) {
        reject(
          new MediaBusyError(
            'file',
            `too many uploads are being converted (this account: ${this.limits.perAccount} at a time, ${this.perOwnerQueue} waiting); try again later`,
          ),
        );
        return;
      }
      const entry: Waiting = {
        start,
        timer: setTimeout(() => {
          const list = this.waiting.get(owner);
          const at = list?.indexOf(entry) ?? -1;
          if (!list || at < 0) return;
          list.splice(at, 1);
          this.waitingCount--;
          if (list.length === 0) this.waiting.delete(owner);
          reject(
            new MediaBusyError(
              'file',
              `the upload waited ${Math.round(this.limits.queueWaitMs / 1000)} s for a converter; try again later`,
            ),
          );
        }, this.limits.queueWaitMs),
      };
      mine.push(entry);
      this.waiting.set(owner, mine);
      this.waitingCount++;
    });
  }

  private canStart(owner: string): boolean {
    return (
      this.running < this.limits.concurrency && (this.runningBy.get(owner) ?? 0) < this.limits.perAccount
    );
  }

  private dispatch(): void {
    for (const [owner, list] of [...this.waiting]) {
      if (this.running >= this.limits.concurrency) return;
      if (!this.canStart(owner)) continue;
      const next = list.shift()!;
      clearTimeout(next.timer);
      this.waitingCount--;
      // Served: to the back of the line (or out of it).
      this.waiting.delete(owner);
      if (list.length > 0) this.waiting.set(owner, list);
      next.start();
    }
  }
}
