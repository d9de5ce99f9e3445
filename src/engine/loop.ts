import type { Logger } from 'pino';
import { sleepReal } from '../clock.ts';

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
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      await tick();
      failures = 0;
    } catch (error) {
      failures++;
      log.error({ err: error, loop: name, failures }, 'loop tick failed');
    }
    await sleepReal(failures > 0 ? Math.min(intervalMs * 2 ** failures, 5_000) : intervalMs, signal);
  }
}
