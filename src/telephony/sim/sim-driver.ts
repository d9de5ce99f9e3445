/**
 * A simulated carrier: every outcome is drawn from a seeded hash of (seed, number, round), so a demo or a
 * test gives the same answers every run, while a recall round can go differently from the one before.
 * All timing runs on the injected clock, so a sped-up clock speeds calls up too.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import type { Clock } from '../../clock.ts';
import type {
  CallLeg,
  CallLegEvents,
  HangupCause,
  OriginateRequest,
  PreparedAudio,
  TelephonyDriver,
} from '../driver.ts';

export type SimOutcomeKind = 'answer' | 'busy' | 'no-answer' | 'voicemail' | 'unavailable' | 'invalid';

export interface SimOutcome {
  kind: SimOutcomeKind;
  ringMs: number;
  /** For answered calls: how long the callee listens before hanging up. */
  listenMs: number;
  /** For answered calls: a key pressed `keyAtMs` after the answer. */
  key?: string;
  keyAtMs?: number;
}

export interface SimOptions {
  seed: string;
  /** Relative weights of outcomes. */
  rates: Record<SimOutcomeKind, number>;
  ringMs: [number, number];
  listenMs: [number, number];
  /** Probability that an answered callee presses a key. */
  keyRate: number;
  /** Keys drawn uniformly. */
  keys: string;
  /** Fixed outcomes for particular numbers (tests, demos). */
  overrides?: Record<string, Partial<SimOutcome>>;
  /**
   * A file the carrier appends every dial request to, written synchronously before the call starts, so
   * it survives the process being killed: the crash tests count real dials from it.
   */
  dialLog?: string;
}

export const defaultSimOptions: SimOptions = {
  seed: 'ringcast',
  rates: { answer: 60, busy: 10, 'no-answer': 15, voicemail: 5, unavailable: 7, invalid: 3 },
  ringMs: [2_000, 12_000],
  listenMs: [5_000, 60_000],
  keyRate: 0.3,
  keys: '0123456789',
};

function unitFloats(seed: string, count: number): number[] {
  const digest = createHash('sha256').update(seed).digest();
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(digest.readUInt32BE(i * 4) / 0x1_0000_0000);
  return values;
}

function between([low, high]: [number, number], unit: number): number {
  return Math.round(low + (high - low) * unit);
}

/** The outcome the simulator gives `number` in `round` (pure, so tests can predict it). */
export function simOutcome(options: SimOptions, number: string, round = 0): SimOutcome {
  const [pick, ring, listen, keyChance, keyPick, keyAt] = unitFloats(
    `${options.seed}|${number}|${round}`,
    6,
  ) as [number, number, number, number, number, number];
  const kinds = Object.keys(options.rates) as SimOutcomeKind[];
  const total = kinds.reduce((sum, kind) => sum + options.rates[kind], 0);
  let kind: SimOutcomeKind = 'answer';
  let cumulative = 0;
  for (const candidate of kinds) {
    cumulative += options.rates[candidate] / total;
    if (pick < cumulative) {
      kind = candidate;
      break;
    }
  }
  const listenMs = between(options.listenMs, listen);
  const outcome: SimOutcome = { kind, ringMs: between(options.ringMs, ring), listenMs };
  if (kind === 'answer' && keyChance < options.keyRate && options.keys.length > 0) {
    outcome.key = options.keys[Math.floor(keyPick * options.keys.length)]!;
    outcome.keyAtMs = Math.round(listenMs * keyAt * 0.9);
  }
  return { ...outcome, ...options.overrides?.[number] };
}

const failureCauses: Record<Exclude<SimOutcomeKind, 'answer' | 'no-answer'>, HangupCause> = {
  busy: { sipCode: 486, reason: 'busy' },
  voicemail: { sipCode: 200, reason: 'voicemail' },
  unavailable: { sipCode: 503, reason: 'unavailable' },
  invalid: { sipCode: 404, reason: 'invalid-number' },
};

class SimLeg extends EventEmitter<CallLegEvents> implements CallLeg {
  private ended = false;
  private answered = false;
  private readonly stop = new AbortController();
  private playback: AbortController | null = null;

  constructor(
    readonly callId: string,
    private readonly clock: Clock,
    private readonly outcome: SimOutcome,
    private readonly ringTimeoutMs: number,
  ) {
    super();
    // Events start on the next turn so the caller can attach listeners first.
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    const { outcome } = this;
    if (outcome.kind === 'unavailable' || outcome.kind === 'invalid') {
      await this.clock.sleep(300, this.stop.signal);
      return this.end(failureCauses[outcome.kind]);
    }
    await this.clock.sleep(500, this.stop.signal);
    if (this.ended) return;
    this.emit('ringing');
    if (outcome.kind === 'busy') {
      await this.clock.sleep(Math.min(outcome.ringMs, 2_000), this.stop.signal);
      return this.end(failureCauses.busy);
    }
    if (outcome.kind === 'no-answer' || outcome.ringMs >= this.ringTimeoutMs) {
      await this.clock.sleep(this.ringTimeoutMs, this.stop.signal);
      return this.end({ sipCode: 487, reason: 'no-answer' });
    }
    await this.clock.sleep(outcome.ringMs, this.stop.signal);
    if (this.ended) return;
    if (outcome.kind === 'voicemail') {
      // A machine picks up, plays its greeting and records; reported as voicemail.
      await this.clock.sleep(outcome.listenMs, this.stop.signal);
      return this.end(failureCauses.voicemail);
    }
    this.answered = true;
    this.emit('answered');
    if (outcome.key !== undefined && outcome.keyAtMs !== undefined) {
      const key = outcome.key;
      void this.clock.sleep(outcome.keyAtMs, this.stop.signal).then(() => {
        if (!this.ended) this.emit('dtmf', key);
      });
    }
    await this.clock.sleep(outcome.listenMs, this.stop.signal);
    this.end({ sipCode: 200, reason: 'normal', by: 'callee' });
  }

  private end(cause: HangupCause): void {
    if (this.ended) return;
    this.ended = true;
    this.stop.abort();
    this.playback?.abort();
    this.emit('hangup', cause);
  }

  async play(audio: PreparedAudio, loops: number): Promise<boolean> {
    if (!this.answered || this.ended) return false;
    this.playback = new AbortController();
    const signal = this.playback.signal;
    await this.clock.sleep(audio.durationMs * loops, signal);
    return !signal.aborted && !this.ended;
  }

  stopPlayback(): void {
    this.playback?.abort();
  }

  async hangup(): Promise<void> {
    if (this.answered) this.end({ sipCode: 200, reason: 'normal', by: 'system' });
    else this.end({ sipCode: 487, reason: 'cancelled' });
  }

  async bridge(other: CallLeg): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      this.once('hangup', done);
      other.once('hangup', done);
    });
  }
}

export class SimDriver implements TelephonyDriver {
  readonly name = 'sim';
  readonly timing = 'clock' as const;
  private readonly options: SimOptions;

  constructor(
    private readonly clock: Clock,
    options: Partial<SimOptions> = {},
  ) {
    this.options = { ...defaultSimOptions, ...options };
  }

  originate(request: OriginateRequest): CallLeg {
    if (this.options.dialLog) {
      appendFileSync(this.options.dialLog, `${request.callId} ${request.to} ${request.round ?? 0}\n`);
    }
    return new SimLeg(
      request.callId,
      this.clock,
      simOutcome(this.options, request.to, request.round ?? 0),
      request.ringTimeoutMs,
    );
  }

  async close(): Promise<void> {}
}
