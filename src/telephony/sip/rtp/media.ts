/**
 * Where a call's RTP runs. A call leg asks a `MediaEngine` for a `MediaSession` and never knows which:
 *
 * - `LocalMedia`: sessions on this thread's event loop (tests, small deployments);
 * - `WorkerMedia` (media-pool.ts): sessions in worker threads, each with its own staggered frame clock, so
 *   packetising, receiving, DTMF and SIT detection never wait behind SIP signalling, database work or
 *   the HTTP API, and signalling never waits behind 50,000 packets a second.
 */
import type { EventEmitter } from 'node:events';
import type { PreparedAudio } from '../../driver.ts';
import type { G711Codec, Negotiated } from '../sdp.ts';
import { FrameClock, type FrameClockStats } from './frame-clock.ts';
import type { EncodingCache } from './g711.ts';
import { type PortAllocator, RtpSession, type RtpSessionEvents, type RtpStats } from './session.ts';

export interface MediaSession extends EventEmitter<RtpSessionEvents> {
  readonly localPort: number;
  readonly stats: RtpStats;
  readonly negotiated: Negotiated | undefined;
  configure(media: Negotiated): void;
  detectSit(maxMs: number): void;
  play(audio: PreparedAudio, loops: number): Promise<boolean>;
  stopPlayback(): void;
  relay(payload: Buffer, codec: G711Codec, marker: boolean): void;
  close(): void;
}

export interface MediaStats extends FrameClockStats {
  sessions: number;
  packetsSent: number;
  packetsReceived: number;
  /** Threads the media runs on (0 = the main event loop). */
  workers: number;
}

export interface MediaEngine {
  /**
   * Resolves when a call from `host` can open its media at once (worker threads started, sockets bound
   * ahead); resolves rather than rejects if a worker fails, whose calls then end through SIP as usual.
   */
  ready(host: string): Promise<void>;
  open(host: string): Promise<MediaSession>;
  stats(): Promise<MediaStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

export class LocalMedia implements MediaEngine {
  readonly clock: FrameClock;
  private readonly sessions = new Set<RtpSession>();
  private totals = { sent: 0, received: 0 };

  constructor(
    private readonly ports: PortAllocator,
    private readonly cache: EncodingCache,
    slots = 4,
  ) {
    this.clock = new FrameClock(slots);
  }

  async ready(_host: string): Promise<void> {}

  async open(host: string): Promise<MediaSession> {
    const { socket, port } = await this.ports.bind(host);
    const session = new RtpSession(socket, port, this.clock, this.cache, () => {
      this.ports.release(port);
      this.sessions.delete(session);
      this.totals.sent += session.stats.packetsSent;
      this.totals.received += session.stats.packetsReceived;
    });
    this.sessions.add(session);
    return session;
  }

  async stats(): Promise<MediaStats> {
    let sent = this.totals.sent;
    let received = this.totals.received;
    for (const s of this.sessions) {
      sent += s.stats.packetsSent;
      received += s.stats.packetsReceived;
    }
    return {
      ...this.clock.stats(),
      sessions: this.sessions.size,
      packetsSent: sent,
      packetsReceived: received,
      workers: 0,
    };
  }

  async resetStats(): Promise<void> {
    this.clock.resetStats();
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) s.close();
  }
}
