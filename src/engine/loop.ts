import type { Logger } from 'pino';
import { sleepReal } from '../clock.ts';

/**
 * One loop's progress, for readiness and metrics. `lastTickAt` is wall-clock epoch ms (a loop stuck on a
 * dead database is stuck in real time, whatever the engine clock's speed).
 */
export interface LoopStats {
  ticks: number;
  failures: number;
  lastTickAt: number | null;
  /** The loop's interval, ms: readiness allows a few of them (and the failure back-off) to pass. */
  intervalMs: number;
}

/**
 * Cuts a loop's wait short: work that frees room for the next tick (a call ending, say) wakes the loop
 * instead of leaving that room idle until the interval is over.
 */
export class Waker {
  private pending: (() => void) | null = null;
  private woken = false;

  wake(): void {
    this.woken = true;
    this.pending?.();
  }

  /** Waits `ms`, or less if woken meanwhile (or since the last wait). */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const early = new AbortController();
    const onAbort = () => early.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.pending = onAbort;
    try {
      await sleepReal(ms, early.signal);
    } finally {
      this.pending = null;
      this.woken = false;
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Runs `tick` every `intervalMs` of wall-clock time (sooner when `waker` wakes it) until `signal` aborts. A failing tick is logged and
 * retried next time (the database may be restarting); the loop itself never dies.
 */
export async function runLoop(
  name: string,
  tick: () => Promise<unknown>,
  intervalMs: number,
  signal: AbortSignal,
  log: Logger,
  stats?: LoopStats,
  waker?: Waker,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      await tick();
      failures = 0;
      if (stats) {
        stats.ticks++;
        stats.lastTickAt = Date.now();
      }
    } catch (error) {
      failures++;
      if (stats) stats.failures++;
      log.error({ err: error, loop: name, failures }, 'loop tick failed');
    }
    if (failures > 0) await sleepReal(Math.min(intervalMs * 2 ** failures, 5_000), signal);
    else if (waker) await waker.sleep(intervalMs, signal);
    else await sleepReal(intervalMs, signal);
  }
}
