/**
 * One RTP stream endpoint for a call: a UDP socket on an even port from the configured range, a sender that
 * paces G.711 frames on the shared FrameClock, and a receiver that decodes telephone-events and counts audio.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { PreparedAudio } from '../../driver.ts';
import type { G711Codec, Negotiated } from '../sdp.ts';
import { FRAME_MS, type FrameClock } from './frame-clock.ts';
import { decodeG711, type EncodingCache, encodeG711 } from './g711.ts';
import { buildRtp, parseRtp } from './packet.ts';
import { type SitClass, SitDetector } from './sit-detector.ts';
import { TelephoneEventDecoder } from './telephone-event.ts';

export const SAMPLES_PER_FRAME = 160;
/** Encoded digital silence, used to pad the last frame of a prompt. */
const SILENCE: Readonly<Record<G711Codec, number>> = { PCMU: 0xff, PCMA: 0xd5 };

export interface RtpStats {
  packetsSent: number;
  packetsReceived: number;
  /** Audio packets missing from the peer's sequence numbers (gaps; a reordered packet counts once). */
  packetsLost: number;
  dtmfEvents: number;
}

export interface RtpSessionEvents {
  dtmf: [digit: string];
  /** Received audio frame (payload in this session's negotiated codec), early media included. */
  audio: [payload: Buffer, codec: G711Codec, marker: boolean];
  /** A Special Information Tone sequence was heard (see sit-detector.ts). */
  sit: [cls: SitClass];
}

/** Hands out even RTP ports (RFC 3550 §11) round-robin from a range, skipping ports in use. */
export class PortAllocator {
  private next: number;
  private readonly inUse = new Set<number>();

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    if (!(min > 0 && max <= 65535 && min <= max)) throw new Error(`bad RTP port range ${min}-${max}`);
    this.next = min + (min % 2);
  }

  async bind(host: string): Promise<{ socket: dgram.Socket; port: number }> {
    const { port, value } = await this.acquire((p) => bindRtpSocket(host, p));
    return { socket: value, port };
  }

  /**
   * Free even ports from the round-robin position on, each marked in use as it is handed out; one lap of
   * the range at most. The position advances as ports are taken, so concurrent callers never get the same.
   */
  private *claim(): Generator<number> {
    const count = Math.floor((this.max - this.min) / 2) + 1;
    for (let i = 0; i < count; i++) {
      const port = this.next;
      this.next = port + 2 > this.max ? this.min + (this.min % 2) : port + 2;
      if (this.inUse.has(port)) continue;
      this.inUse.add(port);
      yield port;
    }
  }

  /** Reserves the next free even port without binding it (someone else binds it), or undefined when none is left. */
  reserve(): number | undefined {
    for (const port of this.claim()) return port;
    return undefined;
  }

  /** Tries free even ports in turn with `attempt` (which binds somewhere) until one succeeds. */
  async acquire<T>(attempt: (port: number) => Promise<T | undefined>): Promise<{ port: number; value: T }> {
    for (const port of this.claim()) {
      const value = await attempt(port);
      if (value !== undefined) return { port, value };
      this.inUse.delete(port);
    }
    throw new Error(`no free RTP port in ${this.min}-${this.max}`);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }
}

/** Binds a UDP socket for RTP on `port`, or undefined when the port is taken. */
export async function bindRtpSocket(host: string, port: number): Promise<dgram.Socket | undefined> {
  // SO_REUSEADDR so the session's connected send socket can share the port (see RtpSession.connectTo).
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => resolve(true));
  });
  if (ok) return socket;
  try {
    socket.close();
  } catch {
    // A socket whose bind failed may already be closed.
  }
  return undefined;
}

interface Playback {
  frames: Buffer;
  loopsLeft: number;
  offset: number;
  first: boolean;
  resolve: (finished: boolean) => void;
}

export class RtpSession extends EventEmitter<RtpSessionEvents> {
  readonly stats: RtpStats = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, dtmfEvents: 0 };
  private lastSeqIn: number | undefined;
  private media: Negotiated | undefined;
  private readonly ssrc = randomInt(1, 0xffffffff);
  private seq = randomInt(0, 0x10000);
  private ts = randomInt(0, 0xffffffff);
  private lastSendAt: number | undefined;
  private playback: Playback | undefined;
  private readonly dtmf = new TelephoneEventDecoder((d) => {
    this.stats.dtmfEvents++;
    this.emit('dtmf', d);
  });
  private closed = false;
  private readonly tick = () => this.onTick();
  /** Set when sending resumes after hold: the next packet starts a talkspurt (marker bit, RFC 3551 §4.1). */
  private resumed = false;
  /** `address:port` the socket is connected to (sends then need no address lookup), or being connected to. */
  private peer: string | undefined;
  private peerAddress = '';
  private peerPort = 0;
  private sender: dgram.Socket | undefined;
  private connected = false;
  private sit: SitDetector | undefined;
  /** Received audio frames the SIT detector still looks at (bounded, so a long call costs nothing). */
  private sitFramesLeft = 0;

  constructor(
    private readonly socket: dgram.Socket,
    readonly localPort: number,
    private readonly clock: FrameClock,
    private readonly cache: EncodingCache | undefined,
    private readonly onClose: () => void,
  ) {
    super();
    socket.on('message', (buf, rinfo) => this.onPacket(buf, rinfo.address));
    socket.on('error', () => {});
  }

  /** Sets (or updates, after a re-INVITE) where and how to send. */
  configure(media: Negotiated): void {
    const before = this.media;
    const held = (d: string | undefined) => d === 'sendonly' || d === 'inactive';
    if (before && held(before.direction) && !held(media.direction)) this.resumed = true;
    this.media = media;
  }

  /**
   * Sends go out on a second socket bound to the same port and connected to the peer: a connected UDP
   * socket sends without the per-packet address lookup (the cost that dominated at 1,000 streams), and the
   * source port stays the one in our SDP (symmetric RTP). Both sockets are bound with SO_REUSEADDR; Linux
   * delivers the peer's datagrams to the connected one and everyone else's to the first, so both listen.
   * (Connecting the only socket would make the kernel drop media from any other port of the peer, which
   * some gateways, and SIPp's echo, use.) Until the connect completes, packets go with the address.
   */
  private connectTo(address: string, port: number): void {
    const key = `${address}:${port}`;
    if (this.peer === key || this.closed) return;
    this.peer = key;
    this.connected = false;
    this.sender?.close();
    const local = this.socket.address();
    const sender = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.sender = sender;
    sender.on('error', () => {
      if (this.sender === sender) this.connected = false;
    });
    sender.on('message', (buf, rinfo) => this.onPacket(buf, rinfo.address));
    sender.bind(local.port, local.address, () => {
      if (this.sender !== sender || this.closed) return;
      sender.connect(port, address, (err?: Error) => {
        if (!err && this.sender === sender && !this.closed) this.connected = true;
      });
    });
  }

  /**
   * Looks for a SIT in the next `maxMs` of received audio (early media, then the start of the answer);
   * a sequence already under way (early media into the answer) is kept.
   */
  detectSit(maxMs: number): void {
    this.sit ??= new SitDetector();
    this.sitFramesLeft = Math.ceil(maxMs / FRAME_MS);
  }

  get negotiated(): Negotiated | undefined {
    return this.media;
  }

  private onPacket(buf: Buffer, from: string): void {
    // Only the address the peer's SDP named may inject audio or key presses into this call.
    if (!this.media || from !== this.media.remoteAddress) return;
    const p = parseRtp(buf);
    if (!p) return;
    // The pcaps and many gateways use 101 even when the answer named another number; accept both.
    if (p.payloadType === (this.media.dtmfPayloadType ?? 101) || p.payloadType === 101) {
      this.dtmf.push(p.payload, p.timestamp, p.ssrc);
      return;
    }
    if (p.payloadType === this.media.payloadType) {
      this.stats.packetsReceived++;
      if (this.sit && this.sitFramesLeft > 0) {
        this.sitFramesLeft--;
        const cls = this.sit.push(decodeG711(this.media.codec, p.payload));
        if (cls) this.emit('sit', cls);
        if (cls || this.sitFramesLeft === 0) this.sit = undefined;
      }
      if (this.lastSeqIn !== undefined) {
        const gap = (p.sequence - this.lastSeqIn + 0x10000) % 0x10000;
        // A forward jump of less than half the space is a gap; anything else is a reordered or repeated packet.
        if (gap > 1 && gap < 0x8000) this.stats.packetsLost += gap - 1;
        if (gap === 0 || gap >= 0x8000) {
          this.emitAudio(p);
          return;
        }
      }
      this.lastSeqIn = p.sequence;
      this.emitAudio(p);
    }
  }

  private emitAudio(p: NonNullable<ReturnType<typeof parseRtp>>): void {
    if (this.media && this.listenerCount('audio'))
      this.emit('audio', Buffer.from(p.payload), this.media.codec, p.marker);
  }

  /** Plays `audio` `loops` times; resolves true when done, false when stopped or closed. */
  play(audio: PreparedAudio, loops: number): Promise<boolean> {
    if (this.closed || !this.media || loops < 1 || audio.samples.length === 0) {
      this.stopPlayback();
      return Promise.resolve(false);
    }
    const frames = this.cache
      ? this.cache.get(audio.key, this.media.codec, audio.samples)
      : encodeG711(this.media.codec, audio.samples);
    return this.playFrames(frames, loops);
  }

  /** Plays already encoded frames (in the negotiated codec) `loops` times. */
  playFrames(frames: Buffer, loops: number): Promise<boolean> {
    this.stopPlayback();
    if (this.closed || !this.media || loops < 1 || frames.length === 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.playback = { frames, loopsLeft: Math.floor(loops), offset: 0, first: true, resolve };
      this.startTalkspurt();
      this.clock.add(this.tick);
    });
  }

  stopPlayback(): void {
    const p = this.playback;
    if (!p) return;
    this.playback = undefined;
    this.clock.remove(this.tick);
    p.resolve(false);
  }

  /** RFC 3550 §5.1: after a pause the timestamp advances by the pause's real duration. */
  private startTalkspurt(): void {
    if (this.lastSendAt !== undefined) {
      const gapFrames = Math.max(0, Math.round((performance.now() - this.lastSendAt) / FRAME_MS) - 1);
      this.ts = (this.ts + gapFrames * SAMPLES_PER_FRAME) >>> 0;
    }
  }

  private onTick(): void {
    const p = this.playback;
    if (!p || !this.media) return;
    // A whole frame is a view of the prompt (buildRtp copies it into the packet); only the last is padded.
    const end = p.offset + SAMPLES_PER_FRAME;
    let frame: Buffer;
    if (end <= p.frames.length) frame = p.frames.subarray(p.offset, end);
    else {
      frame = Buffer.alloc(SAMPLES_PER_FRAME, SILENCE[this.media.codec]);
      p.frames.copy(frame, 0, p.offset, p.frames.length);
    }
    p.offset += SAMPLES_PER_FRAME;
    this.sendFrame(frame, p.first);
    p.first = false;
    if (p.offset >= p.frames.length) {
      p.loopsLeft--;
      p.offset = 0;
      if (p.loopsLeft <= 0) {
        this.playback = undefined;
        this.clock.remove(this.tick);
        p.resolve(true);
      }
    }
  }

  private sendFrame(payload: Buffer, marker: boolean): void {
    const m = this.media;
    if (!m || this.closed || m.remotePort === 0) return;
    if (m.direction === 'sendonly' || m.direction === 'inactive') return;
    let first = marker;
    if (this.resumed) {
      // First packet after hold: a new talkspurt, its timestamp advanced by the time on hold.
      this.resumed = false;
      this.startTalkspurt();
      first = true;
    }
    const pkt = buildRtp({
      marker: first,
      payloadType: m.payloadType,
      sequence: this.seq,
      timestamp: this.ts,
      ssrc: this.ssrc,
      payload,
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + payload.length) >>> 0;
    this.lastSendAt = performance.now();
    this.stats.packetsSent++;
    // The send socket is made on the first packet to a peer (a call that never plays costs no socket).
    if (this.peerAddress !== m.remoteAddress || this.peerPort !== m.remotePort) {
      this.peerAddress = m.remoteAddress;
      this.peerPort = m.remotePort;
      this.connectTo(m.remoteAddress, m.remotePort);
    }
    // No callback: with one, every packet also costs a completion object and a nextTick (a lost RTP packet
    // is not reported anyway; the socket's 'error' listener absorbs failures).
    if (this.connected && this.sender) this.sender.send(pkt);
    else this.socket.send(pkt, m.remotePort, m.remoteAddress);
  }

  /** Sends a frame relayed from another leg (bridge), transcoding between laws when they differ. */
  relay(payload: Buffer, codec: G711Codec, marker: boolean): void {
    const m = this.media;
    if (!m || this.playback) return;
    if (marker) this.startTalkspurt();
    const out = codec === m.codec ? payload : encodeG711(m.codec, decodeG711(codec, payload));
    this.sendFrame(out, marker);
  }

  close(): void {
    if (this.closed) return;
    this.stopPlayback();
    this.closed = true;
    this.socket.close();
    this.sender?.close();
    this.onClose();
    this.removeAllListeners();
  }
}
