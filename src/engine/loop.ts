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

/**
 * Runs `work` until it succeeds, backing off from 100 ms to 5 s between tries. For writes that must
 * not be given up (recording an attempt or a sent SMS) while the database is unreachable; the row's
 * lease keeps other processes off it meanwhile.
 */
export async function retryUntilDone(
  work: () => Promise<unknown>,
  onFailure: (error: unknown, attempt: number) => void,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await work();
      return;
    } catch (error) {
      onFailure(error, attempt);
      await sleepReal(Math.min(100 * 2 ** attempt, 5_000));
    }
  }
}
