/**
 * The narrow interface between call logic (src/engine) and a carrier (sim, SIP).
 *
 * A driver places one outbound leg per `originate` call and reports its progress as events. Call logic
 * never sees SIP messages or RTP packets; drivers never see tasks, records or the database.
 *
 *   originate ──► ringing ──► answered ──► (dtmf)* ──► hangup
 *        │            │                                   ▲
 *        └────────────┴──────── hangup (failure cause) ───┘
 *
 * `hangup` is emitted exactly once per leg, whoever ends the call.
 */
import type { EventEmitter } from 'node:events';
import type { HangupCause } from '../domain/outcome.ts';

/** 8 kHz mono signed 16-bit PCM, the form every driver plays. */
export interface PreparedAudio {
  /** Stable key (content hash) so drivers may cache encodings. */
  readonly key: string;
  readonly sampleRate: 8000;
  readonly samples: Int16Array;
  readonly durationMs: number;
}

export interface OriginateRequest {
  /** Our id for the attempt (the record's voiceId); drivers use it for logs and correlation. */
  callId: string;
  /** Digits with country code, no '+'. */
  to: string;
  /** Caller id (displayNum); may be empty. */
  from: string;
  /** Give up (CANCEL) when not answered within this many ms. */
  ringTimeoutMs: number;
  /**
   * Where to send the call instead of `to` at the carrier: a registered agent's Contact URI. Drivers
   * that cannot reach a URI (the simulator) ignore it.
   */
  uri?: string;
  /** Recall round of this attempt (0 = the original task); only the simulator uses it, to vary outcomes. */
  round?: number;
}

// The cause type lives in the domain (which imports nothing from here); drivers report it.
export type { HangupCause } from '../domain/outcome.ts';

export interface CallLegEvents {
  ringing: [];
  answered: [];
  /** One event per key press (already de-duplicated): '0'-'9', '*', '#'. */
  dtmf: [digit: string];
  hangup: [cause: HangupCause];
}

export interface CallLeg extends EventEmitter<CallLegEvents> {
  readonly callId: string;
  /**
   * Plays the audio `loops` times. Resolves when playback finished (true) or stopped because the call
   * ended or `stopPlayback` was called (false). Only valid once answered.
   */
  play(audio: PreparedAudio, loops: number): Promise<boolean>;
  stopPlayback(): void;
  /** Ends the call from our side (CANCEL before answer, BYE after). Idempotent. */
  hangup(): Promise<void>;
  /** Relays media both ways between this leg and `other` until either hangs up. */
  bridge(other: CallLeg): Promise<void>;
}

export interface TelephonyDriver {
  readonly name: string;
  /**
   * 'clock': the driver's timers run on the engine's injected clock (the simulator), so durations in
   * requests are clock ms. 'real' (default): it runs in wall-clock time (SIP), so the engine converts.
   */
  readonly timing?: 'clock' | 'real';
  originate(request: OriginateRequest): CallLeg;
  close(): Promise<void>;
  /** Carrier-side counters for metrics and readiness (drivers without a wire leave it out). */
  telemetry?(): DriverTelemetry;
}

export interface DriverTelemetry {
  /** The transport is open (SIP socket bound); false while starting or after a failure. */
  up: boolean;
  /** Responses received from the carrier, by status code (cumulative). */
  responsesByCode: ReadonlyMap<number, number>;
  /** RTP packets missing from the peers' streams, and frames we sent late or dropped (cumulative). */
  rtpLost: number;
  rtpLate: number;
}
