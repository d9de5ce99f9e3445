/**
 * Health of the one trunk a SipDriver sends calls to: when new calls may leave, and why not.
 *
 *          Retry-After on 503/480/486          the pause has passed
 *   open ─────────────────────────────► paused ─────────────────────► open
 *     │  N trunk failures in a row                 an OPTIONS probe answered < 500
 *     └─────────────────────────────► down ─────────────────────────────────► open
 *
 * - RFC 3261 §21.5.4 / §20.33: a 503 (and a 480 or 486) may carry `Retry-After: <seconds>`; no new call goes
 *   to the trunk until then (capped at `maxPauseMs`, so a typo in a carrier's header cannot stop a campaign
 *   for a day). Calls already up are not touched.
 * - A trunk failure is what says the trunk (not the callee) is not working: 5xx, no response at all
 *   (Timer B), a transport error. Any other response (a 1xx, a 2xx, a 4xx like busy) proves it works and
 *   resets the count. After `failuresToDown` failures in a row the trunk is down: no new call leaves, and
 *   an OPTIONS probe is sent every `probeIntervalMs` until one is answered with a status below 500.
 *
 * Calls waiting for the trunk wait in `admit()` (the engine's attempt is already committed; it leaves when
 * the trunk opens or is cancelled by `hangup()`). Time comes from the injected `TrunkClock`, so tests can
 * move it; the driver uses the wall clock, as SIP runs on real time.
 */

export interface TrunkClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?(): unknown } | number | NodeJS.Timeout;
  clearTimeout(handle: unknown): void;
}

export const wallClock: TrunkClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface TrunkHealthOptions {
  /** Trunk failures in a row before the trunk is marked down. Default 5. */
  failuresToDown: number;
  /** Interval between OPTIONS probes while down, ms. Default 10 s. */
  probeIntervalMs: number;
  /** Longest pause a Retry-After can ask for, ms. Default 300 s. */
  maxPauseMs: number;
}

export const DEFAULT_TRUNK_HEALTH: Readonly<TrunkHealthOptions> = {
  failuresToDown: 5,
  probeIntervalMs: 10_000,
  maxPauseMs: 300_000,
};

export type TrunkState = 'open' | 'paused' | 'down';

export interface TrunkStats {
  state: TrunkState;
  /** Epoch ms until which new calls wait (Retry-After), or null. */
  pausedUntil: number | null;
  consecutiveFailures: number;
  /** How many Retry-After pauses and how many down periods since start. */
  pauses: number;
  downs: number;
  probes: number;
  /** Calls waiting in `admit()` right now. */
  waiting: number;
}

export interface TrunkLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What a call leg reports about each final outcome of an INVITE it sent to the trunk. */
export type TrunkResult =
  | { kind: 'response'; status: number; retryAfterS?: number }
  | { kind: 'timeout' }
  | { kind: 'transport-error' };

/** Statuses whose Retry-After pauses the trunk (issue 19; RFC 3261 §20.33 allows it on 404, 413, 480, 486, 500, 503, 600, 603). */
const PAUSING = new Set([480, 486, 503]);

/** `Retry-After: 120 (reason);duration=…` → 120; anything else → undefined (§20.33). */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,9})\b/.exec(value);
  return m ? Number(m[1]) : undefined;
}

export class TrunkHealth {
  private pausedUntil = 0;
  private down = false;
  private failures = 0;
  private readonly waiters = new Set<(ok: boolean) => void>();
  private wakeTimer: unknown;
  private probeTimer: unknown;
  private readonly counts = { pauses: 0, downs: 0, probes: 0 };
  private closed = false;

  constructor(
    private readonly options: TrunkHealthOptions,
    /** Sends one OPTIONS to the trunk; resolves with the final status, or 408 when none came. */
    private readonly probe: () => Promise<number>,
    private readonly log?: TrunkLog,
    private readonly clock: TrunkClock = wallClock,
  ) {}

  get state(): TrunkState {
    if (this.down) return 'down';
    return this.clock.now() < this.pausedUntil ? 'paused' : 'open';
  }

  stats(): TrunkStats {
    const state = this.state;
    return {
      state,
      pausedUntil: state === 'paused' ? this.pausedUntil : null,
      consecutiveFailures: this.failures,
      ...this.counts,
      waiting: this.waiters.size,
    };
  }

  /**
   * Resolves when a new call may be sent to the trunk. `signal` lets a call cancelled while waiting leave
   * the queue (it then resolves false).
   */
  admit(signal?: AbortSignal): Promise<boolean> {
    if (this.state === 'open') return Promise.resolve(true);
    if (signal?.aborted || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const go = (ok: boolean) => {
        signal?.removeEventListener('abort', leave);
        resolve(ok);
      };
      const leave = () => {
        this.waiters.delete(go);
        resolve(false);
      };
      this.waiters.add(go);
      signal?.addEventListener('abort', leave, { once: true });
      this.scheduleWake();
    });
  }

  /** Records how an INVITE to the trunk ended (or that it got a provisional response). */
  report(result: TrunkResult): void {
    if (this.closed) return;
    const trunkFailure =
      result.kind !== 'response' || (result.status >= 500 && result.status < 600 && result.status !== 580);
    if (result.kind === 'response' && result.retryAfterS !== undefined && PAUSING.has(result.status)) {
      this.pause(result.status, result.retryAfterS);
    }
    if (!trunkFailure) {
      this.failures = 0;
      return;
    }
    this.failures++;
    if (!this.down && this.failures >= this.options.failuresToDown) this.markDown(result);
  }

  private pause(status: number, seconds: number): void {
    const until = this.clock.now() + Math.min(seconds * 1000, this.options.maxPauseMs);
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.counts.pauses++;
    this.log?.warn(
      { trunk: 'paused', status, retryAfterS: seconds, pausedUntil: new Date(until).toISOString() },
      `SIP trunk answered ${status} with Retry-After ${seconds}: no new calls until then`,
    );
  }

  private markDown(last: TrunkResult): void {
    this.down = true;
    this.counts.downs++;
    this.log?.warn(
      { trunk: 'down', consecutiveFailures: this.failures, last },
      `SIP trunk down after ${this.failures} failed calls in a row: probing with OPTIONS`,
    );
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || !this.down) return;
    const t = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      this.counts.probes++;
      this.probe()
        .catch(() => 408)
        .then((status) => {
          if (this.closed || !this.down) return;
          // 408 is what the probe reports when nothing came back (Timer F).
          if (status < 500 && status !== 408) {
            this.down = false;
            this.failures = 0;
            this.log?.info(
              { trunk: 'up', status },
              `SIP trunk answered OPTIONS with ${status}: calls resume`,
            );
            this.scheduleWake();
          } else {
            this.scheduleProbe();
          }
        });
    }, this.options.probeIntervalMs);
    if (typeof t === 'object' && t.unref) t.unref();
    this.probeTimer = t;
  }

  /** Releases waiters once the trunk is open, or arms a timer for the end of the pause. */
  private scheduleWake(): void {
    if (this.wakeTimer !== undefined) {
      this.clock.clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
    }
    const state = this.state;
    if (state === 'open') {
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const go of waiting) go(true);
      return;
    }
    if (state === 'paused' && this.waiters.size) {
      this.wakeTimer = this.clock.setTimeout(
        () => {
          this.wakeTimer = undefined;
          this.scheduleWake();
        },
        Math.max(1, this.pausedUntil - this.clock.now()),
      );
    }
  }

  close(): void {
    this.closed = true;
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer);
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const go of waiting) go(false);
  }
}
