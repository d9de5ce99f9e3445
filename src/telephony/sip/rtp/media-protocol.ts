/**
 * Messages between the main thread (media-pool.ts) and a media worker (media-worker.ts). Each postMessage
 * carries an array of them, in order: one per event-loop turn rather than one per message.
 */
import type { G711Codec, Negotiated } from '../sdp.ts';
import type { FrameClockStats } from './frame-clock.ts';
import type { SitClass } from './sit-detector.ts';

export interface MediaWorkerData {
  index: number;
  count: number;
  slots: number;
}

export type ToWorker =
  /** `req` 0: the pool already holds a socket bound to `port` (prebind); no answer unless it fails. */
  | { t: 'open'; req: number; id: number; host: string; port: number }
  /** Bind sockets ahead of calls, so placing a call needs no round trip to the worker. */
  | { t: 'prebind'; host: string; ports: number[] }
  | { t: 'configure'; id: number; media: Negotiated }
  | { t: 'sit'; id: number; ms: number }
  /** `frames` is omitted when this worker already has `key` (see media-pool.ts). */
  | { t: 'play'; id: number; key: string; frames?: Uint8Array; loops: number }
  | { t: 'stop'; id: number }
  | { t: 'relay'; id: number; payload: Uint8Array; codec: G711Codec; marker: boolean }
  | { t: 'listen'; id: number; on: boolean }
  | { t: 'close'; id: number }
  | { t: 'stats'; req: number }
  | { t: 'reset' };

export interface WorkerTotals extends FrameClockStats {
  sessions: number;
  packetsSent: number;
  packetsReceived: number;
}

export type FromWorker =
  | { t: 'opened'; req: number; ok: boolean }
  | { t: 'prebound'; host: string; ok: number[]; failed: number[] }
  | { t: 'played'; id: number; finished: boolean }
  | { t: 'dtmf'; id: number; digit: string }
  | { t: 'sit'; id: number; cls: SitClass }
  | { t: 'audio'; id: number; payload: Uint8Array; codec: G711Codec; marker: boolean }
  /** Per-session counters [id, sent, received, dtmfEvents], pushed twice a second while they change. */
  | { t: 'counters'; list: Array<[number, number, number, number]> }
  | { t: 'closed'; id: number }
  | { t: 'stats'; req: number; totals: WorkerTotals };
