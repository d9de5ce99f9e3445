/**
 * RTP in worker threads. Each worker owns the sockets of the calls placed on it (the least loaded one)
 * and runs its own frame clock, staggered inside the 20 ms period and offset from the other workers'.
 * The main thread keeps the port allocator, the encoding cache and a `RemoteSession` per call, which
 * mirrors what the call leg needs synchronously (negotiated media, counters pushed twice a second) and
 * forwards everything else as messages. Received audio crosses threads only while someone listens
 * (a bridge); playback sends a prompt's encoded frames to a worker once, then names it by key.
 *
 * Why threads and not processes: one process keeps one SIP stack and one port range, and a worker needs
 * nothing but a socket and frames; the cost of a message per event (not per packet) is negligible.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { PreparedAudio } from '../../driver.ts';
import type { G711Codec, Negotiated } from '../sdp.ts';
import type { EncodingCache } from './g711.ts';
import type { MediaEngine, MediaSession, MediaStats } from './media.ts';
import type { FromWorker, MediaWorkerData, ToWorker, WorkerTotals } from './media-protocol.ts';
import type { PortAllocator, RtpSessionEvents, RtpStats } from './session.ts';

/** Sockets each worker keeps bound ahead of calls (refilled to twice this when below it). */
const PREBIND = 32;
/** How many prompt keys the pool assumes a worker still holds; the worker keeps twice as many (LRU). */
const SENT_KEYS = 32;

class MediaWorker {
  readonly thread: Worker;
  readonly sessions = new Map<number, RemoteSession>();
  private readonly pending = new Map<number, (m: FromWorker) => void>();
  private readonly sentKeys = new Map<string, true>();
  private req = 0;
  /** Ports this worker holds bound sockets for (prebind), by host; taken by `open` without a round trip. */
  readonly ready = new Map<string, number[]>();
  /** A prebind under way for this host, settled when its answer arrives. */
  readonly refilling = new Map<string, { done: Promise<void>; resolve: () => void }>();
  /** Ports of a prebind answer, handed to the pool (which releases the failed ones). */
  onPrebound: (m: Extract<FromWorker, { t: 'prebound' }>) => void = () => {};

  constructor(data: MediaWorkerData) {
    const entry = new URL('./media-worker.ts', import.meta.url).href;
    // The worker's TypeScript is loaded through tsx's loader (a dependency; `npm start` runs on it too).
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    this.thread = new Worker(boot, { eval: true, workerData: data });
    this.thread.unref();
    this.thread.on('message', (batch: FromWorker[]) => {
      for (const m of batch) this.onMessage(m);
    });
    this.thread.on('error', () => {
      // A dead worker ends its calls' media; the calls themselves end through SIP as usual.
      for (const s of this.sessions.values()) s.workerGone();
      this.sessions.clear();
      // Nobody waits for a prebind answer that will not come.
      for (const r of this.refilling.values()) r.resolve();
    });
  }

  /**
   * Messages go out in one batch per event-loop turn: a postMessage costs far more than the few calls'
   * worth of open/configure/close it carries (it was a seventh of the signalling thread's time at
   * 1,000 setups/s). Order is kept.
   */
  send(m: ToWorker): void {
    if (this.outbox.push(m) === 1) setImmediate(this.flush);
  }

  private outbox: ToWorker[] = [];
  private readonly flush = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    this.thread.postMessage(batch);
  };

  request<T extends FromWorker>(build: (req: number) => ToWorker): Promise<T> {
    const req = ++this.req;
    return new Promise((resolve) => {
      this.pending.set(req, (m) => resolve(m as T));
      this.send(build(req));
    });
  }

  /** True when the worker must be sent the frames for `key` (it may not hold them). */
  needsFrames(key: string): boolean {
    const had = this.sentKeys.delete(key);
    this.sentKeys.set(key, true);
    if (this.sentKeys.size > SENT_KEYS) this.sentKeys.delete(this.sentKeys.keys().next().value!);
    return !had;
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'opened' || m.t === 'stats') {
      const done = this.pending.get(m.req);
      this.pending.delete(m.req);
      done?.(m);
      return;
    }
    if (m.t === 'prebound') {
      this.onPrebound(m);
      return;
    }
    if (m.t === 'counters') {
      for (const [id, sent, received, dtmf] of m.list)
        this.sessions.get(id)?.setCounters(sent, received, dtmf);
      return;
    }
    const s = this.sessions.get(m.id);
    if (!s) return;
    s.fromWorker(m);
    if (m.t === 'closed') this.sessions.delete(m.id);
  }
}

let nextSessionId = 0;

class RemoteSession extends EventEmitter<RtpSessionEvents> implements MediaSession {
  readonly stats: RtpStats = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, dtmfEvents: 0 };
  private media: Negotiated | undefined;
  private playing: ((finished: boolean) => void) | undefined;
  private closed = false;
  private listening = false;

  constructor(
    readonly id: number,
    private readonly worker: MediaWorker,
    readonly localPort: number,
    private readonly cache: EncodingCache,
    private readonly release: () => void,
  ) {
    super();
    // Received audio crosses to this thread only while a bridge listens for it.
    // The typed emitter does not list Node's own listener events; they are there all the same.
    const plain = this as EventEmitter;
    plain.on('newListener', (event: string) => {
      if (event === 'audio' && !this.listening) {
        this.listening = true;
        this.worker.send({ t: 'listen', id: this.id, on: true });
      }
    });
    plain.on('removeListener', (event: string) => {
      if (event === 'audio' && this.listening && this.listenerCount('audio') === 0) {
        this.listening = false;
        this.worker.send({ t: 'listen', id: this.id, on: false });
      }
    });
  }

  get negotiated(): Negotiated | undefined {
    return this.media;
  }

  configure(media: Negotiated): void {
    this.media = media;
    if (!this.closed) this.worker.send({ t: 'configure', id: this.id, media });
  }

  detectSit(maxMs: number): void {
    if (!this.closed) this.worker.send({ t: 'sit', id: this.id, ms: maxMs });
  }

  play(audio: PreparedAudio, loops: number): Promise<boolean> {
    this.stopPlayback();
    if (this.closed || !this.media || loops < 1 || audio.samples.length === 0) return Promise.resolve(false);
    const codec = this.media.codec;
    const key = `${codec}:${audio.key}`;
    const frames = this.worker.needsFrames(key) ? this.cache.get(audio.key, codec, audio.samples) : undefined;
    return new Promise((resolve) => {
      this.playing = resolve;
      this.worker.send({ t: 'play', id: this.id, key, frames, loops });
    });
  }

  stopPlayback(): void {
    const p = this.playing;
    if (!p) return;
    this.playing = undefined;
    this.worker.send({ t: 'stop', id: this.id });
    p(false);
  }

  relay(payload: Buffer, codec: G711Codec, marker: boolean): void {
    if (!this.closed) this.worker.send({ t: 'relay', id: this.id, payload, codec, marker });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.playing;
    this.playing = undefined;
    p?.(false);
    this.worker.send({ t: 'close', id: this.id });
  }

  setCounters(sent: number, received: number, dtmf: number): void {
    this.stats.packetsSent = sent;
    this.stats.packetsReceived = received;
    this.stats.dtmfEvents = dtmf;
  }

  fromWorker(m: FromWorker): void {
    switch (m.t) {
      case 'played': {
        const p = this.playing;
        this.playing = undefined;
        p?.(m.finished);
        return;
      }
      case 'dtmf':
        this.emit('dtmf', m.digit);
        return;
      case 'sit':
        this.emit('sit', m.cls);
        return;
      case 'audio':
        this.emit(
          'audio',
          Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
          m.codec,
          m.marker,
        );
        return;
      case 'closed':
        this.release();
        this.removeAllListeners();
        return;
      default:
        return;
    }
  }

  workerGone(): void {
    this.closed = true;
    const p = this.playing;
    this.playing = undefined;
    p?.(false);
    this.release();
  }
}

export class WorkerMedia implements MediaEngine {
  private readonly workers: MediaWorker[];

  constructor(
    count: number,
    private readonly ports: PortAllocator,
    private readonly cache: EncodingCache,
    slots = 4,
  ) {
    this.workers = Array.from({ length: count }, (_, index) => new MediaWorker({ index, count, slots }));
    for (const w of this.workers) {
      w.onPrebound = (m) => {
        const pending = w.refilling.get(m.host);
        w.refilling.delete(m.host);
        for (const p of m.failed) this.ports.release(p);
        const list = w.ready.get(m.host) ?? [];
        list.push(...m.ok);
        w.ready.set(m.host, list);
        pending?.resolve();
      };
    }
  }

  /**
   * Keeps PREBIND..2·PREBIND sockets bound in each worker, so `open` hands out a port at once and the
   * INVITE leaves without waiting for a worker (which, on a busy machine, may not run for a while).
   */
  private refill(worker: MediaWorker, host: string): void {
    const have = worker.ready.get(host)?.length ?? 0;
    if (have >= PREBIND || worker.refilling.has(host)) return;
    const ports: number[] = [];
    for (let i = have; i < 2 * PREBIND; i++) {
      const p = this.ports.reserve();
      if (p === undefined) break;
      ports.push(p);
    }
    if (!ports.length) return;
    let resolve = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    worker.refilling.set(host, { done, resolve });
    worker.send({ t: 'prebind', host, ports });
  }

  /**
   * Binds the first sockets ahead in every worker and waits for them, so start-up (a worker loads its
   * modules for a few hundred ms) is not paid by the first calls, nor competes with them for the CPU.
   */
  async ready(host: string): Promise<void> {
    for (const w of this.workers) this.refill(w, host);
    await Promise.all(this.workers.map((w) => w.refilling.get(host)?.done));
  }

  async open(host: string): Promise<MediaSession> {
    const worker = this.workers.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
    const id = ++nextSessionId;
    let warm = worker.ready.get(host)?.pop();
    const refilling = worker.refilling.get(host);
    if (warm === undefined && refilling) {
      // The ports being bound ahead may be all the range has left: wait for them rather than fail.
      await refilling.done;
      warm = worker.ready.get(host)?.pop();
    }
    if (warm !== undefined) {
      this.refill(worker, host);
      const port = warm;
      worker.send({ t: 'open', req: 0, id, host, port });
      const session = new RemoteSession(id, worker, port, this.cache, () => this.ports.release(port));
      worker.sessions.set(id, session);
      return session;
    }
    const { port } = await this.ports.acquire(async (p) => {
      const r = await worker.request<Extract<FromWorker, { t: 'opened' }>>((req) => ({
        t: 'open',
        req,
        id,
        host,
        port: p,
      }));
      return r.ok ? true : undefined;
    });
    const session = new RemoteSession(id, worker, port, this.cache, () => this.ports.release(port));
    worker.sessions.set(id, session);
    // This call has its port; now bind some ahead for the next ones.
    this.refill(worker, host);
    return session;
  }

  async stats(): Promise<MediaStats> {
    const all = await Promise.all(
      this.workers.map((w) =>
        w.request<Extract<FromWorker, { t: 'stats' }>>((req) => ({ t: 'stats', req })).then((m) => m.totals),
      ),
    );
    const sum = (f: (t: WorkerTotals) => number) => all.reduce((a, t) => a + f(t), 0);
    return {
      ticks: sum((t) => t.ticks),
      lateTicks: sum((t) => t.lateTicks),
      p99LateMs: Math.max(0, ...all.map((t) => t.p99LateMs)),
      maxLateMs: Math.max(0, ...all.map((t) => t.maxLateMs)),
      loopBusyPct: Math.max(0, ...all.map((t) => t.loopBusyPct)),
      sessions: sum((t) => t.sessions),
      packetsSent: sum((t) => t.packetsSent),
      packetsReceived: sum((t) => t.packetsReceived),
      workers: this.workers.length,
    };
  }

  async resetStats(): Promise<void> {
    for (const w of this.workers) w.send({ t: 'reset' });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}
