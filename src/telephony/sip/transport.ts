/**
 * SIP transports (RFC 3261 §18): UDP datagrams, and TCP streams framed by Content-Length.
 *
 * Transports only move bytes: they parse into messages and hand them up, drop anything unparseable (reported
 * through 'invalid' for logs/tests), and never let a bad peer throw into the process.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  headerEnd,
  isFailure,
  MAX_MESSAGE_BYTES,
  parseMessage,
  type SipMessage,
  serialize,
} from './message.ts';

export interface Remote {
  host: string;
  port: number;
  /** For TCP: the connection a message arrived on, so responses go back on it (§18.2.2). */
  connection?: number;
}

export interface TransportEvents {
  message: [message: SipMessage, remote: Remote];
  invalid: [reason: string, remote: Remote];
}

export interface SipTransport extends EventEmitter<TransportEvents> {
  readonly protocol: 'UDP' | 'TCP';
  /** Reliable transports skip retransmissions and zero the wait timers (§17.1.1.2, §17.1.2.2). */
  readonly reliable: boolean;
  readonly localHost: string;
  readonly localPort: number;
  /**
   * Sends a message, or bytes already serialized (an ACK kept for retransmitted 2xx). `onError` hears when
   * it cannot be handed to the network (a transaction reports that as a transport error); without it, such
   * a failure is left to retransmission timers. A callback, not a promise: this runs for every message.
   */
  send(message: SipMessage | Buffer, remote: Remote, onError?: (error: Error) => void): void;
  close(): Promise<void>;
}

export interface TransportOptions {
  localHost: string;
  localPort: number;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export class UdpTransport extends EventEmitter<TransportEvents> implements SipTransport {
  readonly protocol = 'UDP';
  readonly reliable = false;
  readonly localHost: string;
  /** Cached: `socket.address()` is a syscall and every Via/Contact needs the port. */
  readonly localPort: number;
  private constructor(
    private readonly socket: dgram.Socket,
    localHost: string,
  ) {
    super();
    this.localHost = localHost;
    this.localPort = socket.address().port;
    socket.on('message', (buf, rinfo) => {
      const remote = { host: rinfo.address, port: rinfo.port };
      const parsed = parseMessage(buf);
      if (isFailure(parsed)) this.emit('invalid', parsed.error, remote);
      else this.emit('message', parsed, remote);
    });
    // ICMP unreachable and similar surface here on some platforms; a transaction timer will notice instead.
    socket.on('error', () => {});
  }

  static open(options: TransportOptions): Promise<UdpTransport> {
    return new Promise((resolve, reject) => {
      // A bigger receive buffer absorbs bursts of responses when hundreds of calls start together (the
      // kernel caps it at net.core.rmem_max).
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      socket.once('error', reject);
      socket.bind(options.localPort, options.localHost, () => {
        socket.off('error', reject);
        resolve(new UdpTransport(socket, options.localHost));
      });
    });
  }

  send(message: SipMessage | Buffer, remote: Remote, onError?: (error: Error) => void): void {
    const buf = Buffer.isBuffer(message) ? message : serialize(message);
    if (this.outbox.push({ buf, remote, onError }) === 1) setImmediate(this.flush);
  }

  /**
   * Datagrams leave together once per event-loop turn, in order: each send that finds the far end asleep
   * pays for waking it, and the messages one turn's input makes (ACKs, BYEs, next INVITEs) went out between
   * reads, one wake-up each.
   */
  private outbox: Array<{ buf: Buffer; remote: Remote; onError: ((error: Error) => void) | undefined }> = [];
  private readonly flush = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    for (const { buf, remote, onError } of batch) {
      try {
        if (onError) this.socket.send(buf, remote.port, remote.host, (err) => err && onError(err));
        else this.socket.send(buf, remote.port, remote.host);
      } catch (err) {
        onError?.(asError(err));
      }
    }
  };

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/**
 * Splits a TCP byte stream into SIP messages using Content-Length (§18.3). Returns the messages and any
 * fatal framing error; after an error the connection must be closed since framing is lost.
 */
export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { messages: Buffer[]; error?: string } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const messages: Buffer[] = [];
    for (;;) {
      let start = 0;
      // CRLF keep-alives between messages (RFC 5626 §3.5.1) are skipped.
      while (start < this.buf.length && (this.buf[start] === 0x0d || this.buf[start] === 0x0a)) start++;
      if (start) this.buf = this.buf.subarray(start);
      if (!this.buf.length) return { messages };
      const end = headerEnd(this.buf);
      if (!end) {
        if (this.buf.length > MAX_MESSAGE_BYTES) return { messages, error: 'headers too large' };
        return { messages };
      }
      const head = this.buf.toString('latin1', 0, end.headEnd);
      const m = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*(\S*)/i.exec(head);
      let length = 0;
      if (m) {
        if (!/^\d{1,6}$/.test(m[1]!)) return { messages, error: 'bad Content-Length' };
        length = Number(m[1]);
      }
      const total = end.bodyStart + length;
      if (total > MAX_MESSAGE_BYTES) return { messages, error: 'message too large' };
      if (this.buf.length < total) return { messages };
      messages.push(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
  }
}

export class TcpTransport extends EventEmitter<TransportEvents> implements SipTransport {
  readonly protocol = 'TCP';
  readonly reliable = true;
  readonly localHost: string;
  private nextId = 1;
  private readonly byId = new Map<number, net.Socket>();
  private readonly byRemote = new Map<string, { id: number; ready: Promise<net.Socket> }>();

  private constructor(
    private readonly server: net.Server,
    localHost: string,
  ) {
    super();
    this.localHost = localHost;
    // Bound what a flood of inbound connections can cost; the trunk needs one or a few.
    server.maxConnections = 1024;
    server.on('connection', (sock) => {
      // An inbound connection idle for 10 minutes is dropped (no SIP flow keeps one silent that long).
      sock.setTimeout(600_000, () => sock.destroy());
      const key = `${sock.remoteAddress}:${sock.remotePort}`;
      const id = this.adopt(sock);
      this.byRemote.set(key, { id, ready: Promise.resolve(sock) });
    });
    server.on('error', () => {});
  }

  static open(options: TransportOptions): Promise<TcpTransport> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(options.localPort, options.localHost, () => {
        server.off('error', reject);
        resolve(new TcpTransport(server, options.localHost));
      });
    });
  }

  get localPort(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private adopt(sock: net.Socket): number {
    const id = this.nextId++;
    this.byId.set(id, sock);
    const framer = new StreamFramer();
    const remote = (): Remote => ({
      host: sock.remoteAddress ?? '',
      port: sock.remotePort ?? 0,
      connection: id,
    });
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      const { messages, error } = framer.push(chunk);
      for (const raw of messages) {
        const parsed = parseMessage(raw);
        if (isFailure(parsed)) this.emit('invalid', parsed.error, remote());
        else this.emit('message', parsed, remote());
      }
      if (error) {
        this.emit('invalid', error, remote());
        sock.destroy();
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.byId.delete(id);
      for (const [k, v] of this.byRemote) if (v.id === id) this.byRemote.delete(k);
    });
    return id;
  }

  private connect(remote: Remote): Promise<net.Socket> {
    const byConn = remote.connection === undefined ? undefined : this.byId.get(remote.connection);
    if (byConn && !byConn.destroyed) return Promise.resolve(byConn);
    const key = `${remote.host}:${remote.port}`;
    const existing = this.byRemote.get(key);
    if (existing) return existing.ready;
    const sock = net.connect({ host: remote.host, port: remote.port, localAddress: this.localHost });
    const id = this.adopt(sock);
    const ready = new Promise<net.Socket>((resolve, reject) => {
      sock.once('connect', () => resolve(sock));
      sock.once('error', (err) => {
        this.byRemote.delete(key);
        reject(err);
      });
    });
    // Avoid an unhandled rejection when nobody is waiting on this attempt any more.
    ready.catch(() => {});
    this.byRemote.set(key, { id, ready });
    return ready;
  }

  send(message: SipMessage | Buffer, remote: Remote, onError?: (error: Error) => void): void {
    const buf = Buffer.isBuffer(message) ? message : serialize(message);
    this.connect(remote).then(
      (sock) => {
        if (sock.destroyed) onError?.(new Error('connection closed'));
        else sock.write(buf, (err) => err && onError?.(err));
      },
      (err: unknown) => onError?.(asError(err)),
    );
  }

  close(): Promise<void> {
    for (const sock of this.byId.values()) sock.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
