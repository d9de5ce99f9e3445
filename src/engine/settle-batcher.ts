/**
 * Gathers attempt results for a few milliseconds and records them together (issue 16): one transaction,
 * one WAL flush and one counter delta per task per batch instead of per call. A result waits at most
 * `waitMs` (wall clock) for company; a full batch goes at once. Batches are written one at a time, so the
 * database sees at most one settle transaction per process, and results arriving meanwhile form the next
 * batch (under load batches grow on their own). A batch that keeps failing is given up: its calls stay
 * leased and the lease sweep records them (spec §6), exactly as a crash mid-batch would leave them.
 */
import type { Settlement } from '../db/queries/settle-call.ts';

export interface SettleBatcherOptions {
  /** Wall-clock ms a result may wait for others; 0 flushes on the next turn of the event loop. */
  waitMs: number;
  /** The most results in one batch. */
  max: number;
}

interface Waiting {
  settlement: Settlement;
  resolve(settled: boolean): void;
  reject(error: unknown): void;
}

export class SettleBatcher {
  private queue: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing = false;

  constructor(
    /** Records a batch (retrying as it sees fit) and returns the ids it settled. */
    private readonly write: (settlements: Settlement[]) => Promise<ReadonlySet<number>>,
    private readonly options: SettleBatcherOptions,
  ) {}

  /** Resolves true once the attempt is recorded, false if it was already settled (or not ours). */
  settle(settlement: Settlement): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ settlement, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.queue.length >= this.options.max) {
      this.clearTimer();
      void this.flush();
    } else if (this.timer === null && this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.waitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async flush(): Promise<void> {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch = this.queue.splice(0, this.options.max);
    try {
      const settled = await this.write(batch.map((w) => w.settlement));
      for (const w of batch) w.resolve(settled.has(w.settlement.callId));
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }
}
