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
 * Runs `tick` every `intervalMs` of wall-clock time until `signal` aborts. A failing tick is logged and
 * retried next time (the database may be restarting); the loop itself never dies.
 */
export async function runLoop(
  name: string,
  tick: () => Promise<unknown>,
  intervalMs: number,
  signal: AbortSignal,
  log: Logger,
  stats?: LoopStats,
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
    await sleepReal(failures > 0 ? Math.min(intervalMs * 2 ** failures, 5_000) : intervalMs, signal);
  }
}
