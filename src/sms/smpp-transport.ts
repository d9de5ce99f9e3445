import type { PDU, PduOptions, Session } from 'smpp';
import smpp from 'smpp';
import { clearingDeadline, type Settle } from '../deadline.ts';
import { encodeMessage } from './encoding.ts';
import { type SmsLogger, silentLogger } from './logger.ts';
import {
  type DeliveryReceipt,
  type ReceiptHandler,
  type SmsMessage,
  SmsSendError,
  type SmsSendResult,
  type SmsTransport,
} from './transport.ts';

export interface SmppTransportConfig {
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType?: string;
  /** Receipts arrive only on a transceiver bind; a transmitter bind sends but never reports delivery. */
  bindMode: 'transceiver' | 'transmitter';
  /** Source TON/NPI; when unset they follow the sender: alphanumeric 5/0, digits 1/1, empty 0/0. */
  sourceTon?: number;
  sourceNpi?: number;
  /** Destination TON/NPI; default 1/1 (international, E.164) since `to` carries the country code. */
  destTon?: number;
  destNpi?: number;
  /** Sender used when a message has an empty `from`; empty leaves it to the SMSC. */
  defaultSource?: string;
  /** Spaces submit_sm PDUs so the SMSC's window is never exceeded; unset = no pacing. */
  throughputPerSecond?: number;
  enquireLinkMs: number;
  /** How long to wait for any response PDU (submit_sm_resp, bind_resp, enquire_link_resp). Default 10 s. */
  responseTimeoutMs?: number;
  /** How long a send waits for a connection + bind. Default 10 s. */
  connectTimeoutMs?: number;
  /** Reconnect back-off: first delay and cap (doubles in between). Defaults 500 ms and 30 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  logger?: SmsLogger;
}

const unansweredErrors = new WeakSet<Error>();

/** Marks a request's failure as coming after the PDU was written: the peer may have acted on it. */
function unanswered(error: Error): Error {
  unansweredErrors.add(error);
  return error;
}

function wasUnanswered(error: Error): boolean {
  return unansweredErrors.has(error);
}

/** An SMPP refusal, keeping the command_status for logs and the outbox's error column. */
export class SmppSendError extends SmsSendError {
  constructor(
    message: string,
    retryable: boolean,
    readonly commandStatus?: number,
  ) {
    super(message, retryable);
    this.name = 'SmppSendError';
  }
}

const STATUS_NAMES = new Map<number, string>(Object.entries(smpp.errors).map(([name, code]) => [code, name]));

/**
 * command_status values that will fail the same way however often we retry: the message, its
 * addresses or its parameters are wrong. Everything else (throttling, full queues, system errors,
 * bind state, vendor-specific codes) is treated as temporary, because a wrongly permanent failure loses
 * an SMS while a wrongly temporary one only costs the outbox's bounded retries.
 */
const PERMANENT_STATUSES = new Set<number>([
  0x01, // ESME_RINVMSGLEN
  0x02, // ESME_RINVCMDLEN
  0x03, // ESME_RINVCMDID
  0x06, // ESME_RINVPRTFLG
  0x07, // ESME_RINVREGDLVFLG
  0x0a, // ESME_RINVSRCADR
  0x0b, // ESME_RINVDSTADR
  0x15, // ESME_RINVSERTYP
  0x33, // ESME_RINVNUMDESTS
  0x40, // ESME_RINVDESTFLAG
  0x43, // ESME_RINVESMCLASS
  0x48, // ESME_RINVSRCTON
  0x49, // ESME_RINVSRCNPI
  0x50, // ESME_RINVDSTTON
  0x51, // ESME_RINVDSTNPI
  0x55, // ESME_RINVNUMMSGS
  0x61, // ESME_RINVSCHED
  0x62, // ESME_RINVEXPIRY
  0x63, // ESME_RINVDFTMSGID
  0x65, // ESME_RX_P_APPN: permanent application error
  0x66, // ESME_RX_R_APPN: rejected by application
  0xc0, // ESME_RINVOPTPARSTREAM
  0xc2, // ESME_RINVPARLEN
  0xc4, // ESME_RINVOPTPARAMVAL
]);

const ESME_RINVBNDSTS = 0x04;

export function smppStatusName(status: number): string {
  return `${STATUS_NAMES.get(status) ?? 'unknown'} (0x${status.toString(16).padStart(2, '0')})`;
}

/** Maps a non-zero submit_sm_resp command_status to the error the outbox acts on. */
export function smppStatusError(status: number, what = 'submit_sm'): SmppSendError {
  return new SmppSendError(
    `${what} refused: ${smppStatusName(status)}`,
    !PERMANENT_STATUSES.has(status),
    status,
  );
}

/** message_state TLV (SMPP 5.0 §4.7.15) → the receipt text's stat: word. */
const MESSAGE_STATES: Record<number, string> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
};

/**
 * Reads a delivery receipt from a deliver_sm, or undefined when it is not one (e.g. a mobile-originated
 * message). The receipted_message_id TLV wins over the `id:` in the text because the text format is
 * only an appendix convention and some SMSCs truncate it.
 */
export function parseDeliveryReceipt(pdu: PDU): DeliveryReceipt | undefined {
  const esmClass = typeof pdu.esm_class === 'number' ? pdu.esm_class : 0;
  const tlvId = typeof pdu.receipted_message_id === 'string' ? pdu.receipted_message_id : undefined;
  // Message type bits 2-5: 0x04 = SMSC delivery receipt.
  if ((esmClass & 0x3c) !== 0x04 && tlvId === undefined) return undefined;
  const text = shortMessageText(pdu.short_message);
  const id = tlvId || /\bid:(\S+)/i.exec(text)?.[1];
  if (!id) return undefined;
  const stateTlv = typeof pdu.message_state === 'number' ? MESSAGE_STATES[pdu.message_state] : undefined;
  const status = (/\bstat:(\w+)/i.exec(text)?.[1] ?? stateTlv ?? 'UNKNOWN').toUpperCase();
  return { providerMessageId: id, delivered: status === 'DELIVRD', status };
}

function shortMessageText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (value && typeof value === 'object' && 'message' in value) return shortMessageText(value.message);
  return '';
}

type Waiter = Settle<Session>;

/**
 * SMPP 3.4/5.0 client transport. One session, bound lazily on the first send; after the SMSC drops it,
 * the transport rebinds in the background with exponential back-off (so receipts keep arriving) and
 * sends wait for the next attempt. Each segment is one submit_sm; the result lists one message_id
 * per segment.
 */
export class SmppTransport implements SmsTransport {
  readonly name = 'smpp';
  private readonly log: SmsLogger;
  private readonly responseTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectInitialMs: number;
  private readonly reconnectMaxMs: number;
  private session: Session | undefined;
  /** The session of the connection attempt under way, not yet bound. */
  private attempt: Session | undefined;
  private closed = false;
  private backoffMs: number;
  private backoffTimer: NodeJS.Timeout | undefined;
  private enquireTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  /** In-flight requests per session (keyed by sequence number), failed at once when it closes. */
  private readonly pending = new Map<Session, Map<number, (error: Error) => void>>();
  private readonly receiptHandlers: ReceiptHandler[] = [];
  private nextReference = Math.floor(Math.random() * 256);
  private nextSlot = 0;

  constructor(private readonly config: SmppTransportConfig) {
    this.log = config.logger ?? silentLogger;
    this.responseTimeoutMs = config.responseTimeoutMs ?? 10_000;
    this.connectTimeoutMs = config.connectTimeoutMs ?? 10_000;
    this.reconnectInitialMs = config.reconnectInitialMs ?? 500;
    this.reconnectMaxMs = config.reconnectMaxMs ?? 30_000;
    this.backoffMs = this.reconnectInitialMs;
  }

  /** True while a session is bound (for health checks). */
  get bound(): boolean {
    return this.session !== undefined;
  }

  /** Set when a bind fails or the link drops, cleared by the next bind. */
  private down = false;

  health(): 'up' | 'idle' | 'down' {
    return this.session ? 'up' : this.down ? 'down' : 'idle';
  }

  onReceipt(handler: ReceiptHandler): void {
    this.receiptHandlers.push(handler);
  }

  async send(message: SmsMessage): Promise<SmsSendResult> {
    if (!/^\d{3,20}$/.test(message.to))
      throw new SmppSendError(
        `invalid destination '${message.to}': digits with country code expected`,
        false,
      );
    let encoded: ReturnType<typeof encodeMessage>;
    try {
      encoded = encodeMessage(message.text, this.nextReference++ & 0xff);
    } catch (error) {
      throw new SmppSendError(`cannot encode message: ${(error as Error).message}`, false);
    }
    const source = message.from || this.config.defaultSource || '';
    const [sourceTon, sourceNpi] = this.sourceAddressType(source);
    const multipart = encoded.segments.length > 1;
    const session = await this.bind();
    const ids: string[] = [];
    for (const segment of encoded.segments) {
      await this.pace();
      let resp: PDU;
      try {
        resp = await this.request(session, 'submit_sm', {
          source_addr_ton: sourceTon,
          source_addr_npi: sourceNpi,
          source_addr: source,
          dest_addr_ton: this.config.destTon ?? 1,
          dest_addr_npi: this.config.destNpi ?? 1,
          destination_addr: message.to,
          // 0x40 = UDHI: short_message starts with the concatenation header.
          esm_class: multipart ? 0x40 : 0x00,
          registered_delivery: 1,
          data_coding: encoded.dataCoding,
          // A Buffer passes the library's message filter untouched, so our encoding is what goes out.
          short_message: segment.userData,
        });
      } catch (error) {
        // The submit_sm went out and no answer came (timeout, connection lost): the SMSC may have taken
        // it. Sending it again could give the callee a second SMS, and the contract promises at most one
        // per attempt and trigger (spec §4), so it is not retried: it fails with the reason.
        if (error instanceof SmppSendError && wasUnanswered(error)) {
          throw new SmppSendError(
            `no answer from the SMSC to part ${ids.length + 1} (${error.message}); not sent again, it may have been delivered`,
            false,
          );
        }
        throw error;
      }
      if (resp.command_status !== 0) {
        // The SMSC says our bind is gone; drop the session so the next send rebinds.
        if (resp.command_status === ESME_RINVBNDSTS) session.destroy();
        const error = smppStatusError(resp.command_status);
        this.log.warn(
          { id: message.id, to: message.to, part: ids.length + 1, status: error.message },
          'submit_sm refused',
        );
        throw error;
      }
      ids.push(typeof resp.message_id === 'string' ? resp.message_id : String(resp.message_id ?? ''));
    }
    this.log.info(
      { id: message.id, to: message.to, segments: ids.length, providerMessageIds: ids },
      'sms submitted',
    );
    return { providerMessageIds: ids, segments: encoded.segments.length };
  }

  /** A connection attempt is under way or scheduled: false once closed, so nothing more can connect. */
  get connecting(): boolean {
    return this.backoffTimer !== undefined || this.attempt !== undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.stopEnquireLink();
    this.rejectWaiters(new SmppSendError('SMPP transport closed', true));
    this.attempt?.destroy();
    this.attempt = undefined;
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    // A polite unbind lets the SMSC release the bind slot at once instead of after its own timeout.
    await this.request(session, 'unbind', {}, 1_000).catch(() => undefined);
    this.failPending(session, new SmppSendError('SMPP transport closed', true));
    await new Promise<void>((resolve) => {
      session.destroy(() => resolve());
      setTimeout(resolve, 500).unref();
    });
  }

  private sourceAddressType(source: string): [number, number] {
    if (this.config.sourceTon !== undefined || this.config.sourceNpi !== undefined)
      return [this.config.sourceTon ?? 0, this.config.sourceNpi ?? 0];
    if (source === '') return [0, 0];
    return /^\d+$/.test(source) ? [1, 1] : [5, 0];
  }

  private async pace(): Promise<void> {
    const tps = this.config.throughputPerSecond;
    if (!tps || tps <= 0) return;
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / tps;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }

  /** Resolves with a bound session: the current one, or the outcome of the next connection attempt. */
  private bind(): Promise<Session> {
    if (this.closed) return Promise.reject(new SmppSendError('SMPP transport closed', true));
    if (this.session) return Promise.resolve(this.session);
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = clearingDeadline(() => timer, { resolve, reject });
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new SmppSendError(`SMSC ${this.address()} not bound within ${this.connectTimeoutMs} ms`, true),
        );
      }, this.connectTimeoutMs);
      this.waiters.push(waiter);
      // During back-off the scheduled attempt will answer; otherwise start one now (lazy first bind).
      if (!this.attempt && !this.backoffTimer) this.connect();
    });
  }

  private connect(): void {
    let session: Session;
    try {
      session = smpp.connect({ host: this.config.host, port: this.config.port });
    } catch (error) {
      // net.connect throws synchronously on e.g. an out-of-range port: a config fault, retry later.
      this.rejectWaiters(
        new SmppSendError(`cannot connect to ${this.address()}: ${(error as Error).message}`, true),
      );
      this.scheduleReconnect();
      return;
    }
    this.attempt = session;
    let settled = false;
    const fail = (error: SmppSendError) => {
      if (settled) return;
      settled = true;
      clearTimeout(attemptTimer);
      this.attempt = undefined;
      session.destroy();
      this.down = true;
      this.log.warn({ smsc: this.address(), error: error.message }, 'SMPP bind failed');
      this.rejectWaiters(error);
      this.scheduleReconnect();
    };
    const attemptTimer = setTimeout(
      () => fail(new SmppSendError(`SMSC ${this.address()} connect/bind timed out`, true)),
      this.connectTimeoutMs,
    );
    session.on('error', (error: Error) => {
      if (!settled) {
        fail(new SmppSendError(`SMSC ${this.address()} unreachable: ${error.message}`, true));
        return;
      }
      // Socket errors end in 'close' anyway; a PDU parse error leaves the library's reader stuck, so
      // drop the session either way and let 'close' reconnect.
      this.log.warn({ smsc: this.address(), error: error.message }, 'SMPP connection error');
      session.destroy();
    });
    session.on('close', () => {
      this.failPending(session, new SmppSendError(`SMSC ${this.address()} connection lost`, true));
      if (!settled) fail(new SmppSendError(`SMSC ${this.address()} closed the connection before bind`, true));
      else if (this.session === session) this.onDrop(session);
    });
    session.on('connect', () => {
      const bindCommand = this.config.bindMode === 'transmitter' ? 'bind_transmitter' : 'bind_transceiver';
      this.request(session, bindCommand, {
        system_id: this.config.systemId,
        password: this.config.password,
        system_type: this.config.systemType ?? '',
      })
        .then((resp) => {
          if (resp.command_status !== 0) {
            // Wrong credentials are a configuration fault, not this message's: keep it retryable.
            const refused = smppStatusError(resp.command_status, bindCommand);
            fail(new SmppSendError(refused.message, true, resp.command_status));
            return;
          }
          if (settled) return;
          settled = true;
          clearTimeout(attemptTimer);
          this.attempt = undefined;
          if (this.closed) {
            session.destroy();
            return;
          }
          this.session = session;
          this.down = false;
          this.backoffMs = this.reconnectInitialMs;
          this.startEnquireLink(session);
          this.log.info({ smsc: this.address(), mode: this.config.bindMode }, 'SMPP bound');
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w.resolve(session);
        })
        .catch((error: unknown) =>
          fail(
            error instanceof SmppSendError
              ? error
              : new SmppSendError(`bind failed: ${(error as Error).message}`, true),
          ),
        );
    });
    session.on('deliver_sm', (pdu: PDU) => this.onDeliverSm(session, pdu));
    session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: PDU) => {
      // The SMSC is going away (maintenance, rebalancing): acknowledge, then reconnect via 'close'.
      session.send(pdu.response());
      session.close();
    });
  }

  private onDrop(session: Session): void {
    this.session = undefined;
    this.stopEnquireLink();
    session.destroy();
    if (this.closed) return;
    this.down = true;
    this.log.warn({ smsc: this.address() }, 'SMPP connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.backoffTimer) return;
    // ±20 % jitter so many Ringcast instances do not reconnect in lockstep after an SMSC restart.
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    this.backoffMs = Math.min(this.backoffMs * 2, this.reconnectMaxMs);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (!this.closed && !this.session && !this.attempt) this.connect();
    }, delay);
    this.backoffTimer.unref();
  }

  private startEnquireLink(session: Session): void {
    this.stopEnquireLink();
    if (!(this.config.enquireLinkMs > 0)) return;
    this.enquireTimer = setInterval(() => {
      this.request(session, 'enquire_link', {}).catch((error: Error) => {
        // No answer means a half-open link; destroying it triggers the reconnect path.
        this.log.warn(
          { smsc: this.address(), error: error.message },
          'enquire_link failed; dropping session',
        );
        session.destroy();
      });
    }, this.config.enquireLinkMs);
    this.enquireTimer.unref();
  }

  private stopEnquireLink(): void {
    clearInterval(this.enquireTimer);
    this.enquireTimer = undefined;
  }

  private onDeliverSm(session: Session, pdu: PDU): void {
    // Acknowledge first: an unanswered deliver_sm is redelivered and can stall the SMSC's window.
    session.send(pdu.response());
    const receipt = parseDeliveryReceipt(pdu);
    if (!receipt) {
      this.log.info({ from: pdu.source_addr }, 'ignoring deliver_sm that is not a delivery receipt');
      return;
    }
    for (const handler of this.receiptHandlers) {
      try {
        handler(receipt);
      } catch (error) {
        this.log.warn({ error: (error as Error).message, receipt }, 'receipt handler threw');
      }
    }
  }

  /** Sends a request PDU and resolves with its response (any command_status); rejects retryably on timeout/loss. */
  private request(
    session: Session,
    command: string,
    options: PduOptions,
    timeoutMs = this.responseTimeoutMs,
  ): Promise<PDU> {
    return new Promise<PDU>((resolve, reject) => {
      const pdu = new smpp.PDU(command, options);
      let seq = 0;
      let inFlight = this.pending.get(session);
      if (!inFlight) {
        inFlight = new Map();
        this.pending.set(session, inFlight);
      }
      const requests = inFlight;
      const timer = setTimeout(() => {
        requests.delete(seq);
        reject(unanswered(new SmppSendError(`${command} timed out after ${timeoutMs} ms`, true)));
      }, timeoutMs);
      const sent = session.send(pdu, (resp) => {
        clearTimeout(timer);
        requests.delete(seq);
        resolve(resp);
      });
      if (!sent) {
        clearTimeout(timer);
        reject(new SmppSendError(`SMSC ${this.address()} connection is not writable`, true));
        return;
      }
      seq = pdu.sequence_number;
      requests.set(seq, (error) => {
        clearTimeout(timer);
        reject(unanswered(error));
      });
    });
  }

  private failPending(session: Session, error: Error): void {
    const requests = this.pending.get(session);
    this.pending.delete(session);
    for (const reject of requests?.values() ?? []) reject(error);
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  private address(): string {
    return `${this.config.host}:${this.config.port}`;
  }
}
