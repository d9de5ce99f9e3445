/**
 * A media worker thread: owns the RTP sockets and sessions of the calls placed on it, paces them on its
 * own staggered frame clock, and reports only events (key presses, SIT, end of playback) to the main
 * thread. Started by media-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FRAME_MS, FrameClock } from './frame-clock.ts';
import type { FromWorker, MediaWorkerData, ToWorker } from './media-protocol.ts';
import { bindRtpSocket, RtpSession } from './session.ts';

const port = parentPort;
if (!port) throw new Error('media-worker.ts runs only as a worker thread');
const data = workerData as MediaWorkerData;
// Workers' grids are offset by a fraction of a sub-tick, so their bursts interleave rather than coincide.
const clock = new FrameClock(data.slots, (data.index * FRAME_MS) / data.slots / data.count);
const sessions = new Map<number, RtpSession>();
/** Encoded prompts by key, most recently used last; the pool mirrors the last 32 it sent (see there). */
const frames = new Map<string, Buffer>();
const MAX_FRAMES = 64;
const totals = { sent: 0, received: 0 };
const changed = new Set<number>();

/** Events go to the main thread in one batch per event-loop turn (see MediaWorker.send in media-pool.ts). */
let outbox: FromWorker[] = [];
const flush = (): void => {
  const batch = outbox;
  outbox = [];
  port.postMessage(batch);
};
const post = (m: FromWorker): void => {
  if (outbox.push(m) === 1) setImmediate(flush);
};
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function counters(): void {
  if (!changed.size) return;
  const list: Array<[number, number, number, number]> = [];
  for (const id of changed) {
    const s = sessions.get(id);
    if (s) list.push([id, s.stats.packetsSent, s.stats.packetsReceived, s.stats.dtmfEvents]);
  }
  changed.clear();
  post({ t: 'counters', list });
}
setInterval(() => {
  for (const [id, s] of sessions) if (s.stats.packetsSent || s.stats.packetsReceived) changed.add(id);
  counters();
}, 500).unref();

/** Sockets bound ahead of calls (prebind), by `host:port`. */
const ready = new Map<string, import('node:dgram').Socket>();

async function prebind(m: Extract<ToWorker, { t: 'prebind' }>): Promise<void> {
  const ok: number[] = [];
  const failed: number[] = [];
  for (const p of m.ports) {
    const socket = await bindRtpSocket(m.host, p);
    if (socket) {
      ready.set(`${m.host}:${p}`, socket);
      ok.push(p);
    } else failed.push(p);
  }
  post({ t: 'prebound', host: m.host, ok, failed });
}

async function open(m: Extract<ToWorker, { t: 'open' }>): Promise<void> {
  const key = `${m.host}:${m.port}`;
  const prebound = ready.get(key);
  ready.delete(key);
  const socket = prebound ?? (await bindRtpSocket(m.host, m.port));
  if (!socket) {
    if (m.req) post({ t: 'opened', req: m.req, ok: false });
    else post({ t: 'closed', id: m.id });
    return;
  }
  const s = new RtpSession(socket, m.port, clock, undefined, () => {
    totals.sent += s.stats.packetsSent;
    totals.received += s.stats.packetsReceived;
    sessions.delete(m.id);
    post({ t: 'closed', id: m.id });
  });
  s.on('dtmf', (digit) => post({ t: 'dtmf', id: m.id, digit }));
  s.on('sit', (cls) => post({ t: 'sit', id: m.id, cls }));
  sessions.set(m.id, s);
  if (m.req) post({ t: 'opened', req: m.req, ok: true });
}

const forward = new Map<number, (payload: Buffer, codec: 'PCMU' | 'PCMA', marker: boolean) => void>();

port.on('message', (batch: ToWorker[]) => {
  for (const m of batch) handle(m);
});

function handle(m: ToWorker): void {
  switch (m.t) {
    case 'open':
      void open(m);
      return;
    case 'prebind':
      void prebind(m);
      return;
    case 'stats': {
      let sent = totals.sent;
      let received = totals.received;
      for (const s of sessions.values()) {
        sent += s.stats.packetsSent;
        received += s.stats.packetsReceived;
      }
      post({
        t: 'stats',
        req: m.req,
        totals: { ...clock.stats(), sessions: sessions.size, packetsSent: sent, packetsReceived: received },
      });
      return;
    }
    case 'reset':
      clock.resetStats();
      return;
    default:
      break;
  }
  const s = sessions.get(m.id);
  if (!s) return;
  switch (m.t) {
    case 'configure':
      s.configure(m.media);
      return;
    case 'sit':
      s.detectSit(m.ms);
      return;
    case 'play': {
      let f = frames.get(m.key);
      if (m.frames) f = Buffer.from(m.frames);
      if (!f) {
        post({ t: 'played', id: m.id, finished: false });
        return;
      }
      frames.delete(m.key);
      frames.set(m.key, f);
      if (frames.size > MAX_FRAMES) frames.delete(frames.keys().next().value!);
      void s.playFrames(f, m.loops).then((finished) => {
        changed.add(m.id);
        counters();
        post({ t: 'played', id: m.id, finished });
      });
      return;
    }
    case 'stop':
      s.stopPlayback();
      return;
    case 'relay':
      s.relay(asBuffer(m.payload), m.codec, m.marker);
      return;
    case 'listen': {
      const existing = forward.get(m.id);
      if (existing) s.off('audio', existing);
      forward.delete(m.id);
      if (m.on) {
        const fn = (payload: Buffer, codec: 'PCMU' | 'PCMA', marker: boolean) =>
          post({ t: 'audio', id: m.id, payload, codec, marker });
        forward.set(m.id, fn);
        s.on('audio', fn);
      }
      return;
    }
    case 'close':
      forward.delete(m.id);
      changed.add(m.id);
      counters();
      s.close();
      return;
  }
}
