/**
 * All engine timing goes through a Clock so a 10-round, 24-hour recall flow can be run in seconds.
 *
 * `ScaledClock` reads `startAt` at the wall-clock instant `anchor` and runs `speed` times faster from
 * there. Both are configuration (not process state), so a process restarted with the same settings
 * continues the same timeline, which the crash tests rely on.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` of clock time (or at once when aborted). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Wall-clock milliseconds that `ms` of clock time takes. */
  toRealMs(ms: number): number;
  readonly speed: number;
}

export class ScaledClock implements Clock {
  readonly speed: number;
  private readonly anchor: number;
  private readonly startAt: number;

  constructor(speed = 1, anchor = Date.now(), startAt = anchor) {
    if (!(speed > 0)) throw new Error(`clock speed must be positive, got ${speed}`);
    this.speed = speed;
    this.anchor = anchor;
    this.startAt = startAt;
  }

  now(): number {
    return Math.floor(this.startAt + (Date.now() - this.anchor) * this.speed);
  }

  toRealMs(ms: number): number {
    return Math.max(0, ms / this.speed);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepReal(this.toRealMs(ms), signal);
  }
}

export const systemClock: Clock = new ScaledClock(1, 0);

export function sleepReal(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
