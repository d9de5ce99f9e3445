/**
 * The user-agent core: routes what the transport delivers to client transactions, dialogs, or stateless
 * answers. Server transactions (§17.2 absorption of request retransmissions) live in transaction-server.ts,
 * shared with the registrar; this core adds §13.3.1.4, retransmitting a 2xx to a re-INVITE until its ACK. Call logic sits above, in dialog handlers.
 */
import { randomBytes } from 'node:crypto';
import {
  cseqOf,
  Headers,
  makeResponse,
  type SipRequest,
  type SipResponse,
  tagOf,
  topViaBranch,
} from './message.ts';
import type { SipTimers } from './timers.ts';
import {
  type ClientTransactionUser,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from './transaction-client.ts';
import { ServerTransactions, serverKey } from './transaction-server.ts';
import type { Remote, SipTransport } from './transport.ts';

type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

export interface DialogHandler {
  /** An in-dialog request (not ACK, not a retransmission). Must answer through `core.respond`. */
  onRequest(request: SipRequest, remote: Remote): void;
  /** ACK for a 2xx we sent (offer/answer may complete in it). */
  onAck(request: SipRequest): void;
  /** A 2xx to our INVITE that arrived after its transaction ended: the ACK must be re-sent (§13.2.2.4). */
  onStray2xx(response: SipResponse): void;
}

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO';
const USER_AGENT = 'ringcast';

/** Random bytes drawn from a pooled buffer: one crypto call per 4 KB instead of one per token. */
let pool = Buffer.alloc(0);
let poolOffset = 0;
export function randomToken(bytes = 8): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const s = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

export class UserAgentCore {
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly dialogs = new Map<string, DialogHandler>();
  /** Server transactions (transaction-server.ts): final responses kept for retransmitted requests. */
  private readonly served: ServerTransactions;
  /** 2xx retransmission timers of INVITEs awaiting their ACK, by `Call-ID|CSeq` (§13.3.1.4). */
  private readonly awaitingAck = new Map<string, NodeJS.Timeout | undefined>();
  /** Counts of dropped input, for tests and logs. */
  readonly dropped = { invalid: 0, unmatched: 0 };
  /** Responses received, by status code (metrics). */
  readonly responsesByCode = new Map<number, number>();
  /** Called when a handler throws on one message (logged by the driver's owner). */
  onHandlerError: ((error: unknown) => void) | undefined;
  private closed = false;

  constructor(
    readonly transport: SipTransport,
    readonly timers: SipTimers,
  ) {
    this.served = new ServerTransactions(transport, timers);
    transport.on('message', (msg, remote) => {
      try {
        if (msg.kind === 'response') {
          this.responsesByCode.set(msg.status, (this.responsesByCode.get(msg.status) ?? 0) + 1);
          this.onResponse(msg);
        } else this.onRequest(msg, remote);
      } catch (error) {
        // A handler bug on one message must not stop the transport for every other call.
        this.dropped.invalid++;
        this.onHandlerError?.(error);
      }
    });
    transport.on('invalid', () => {
      this.dropped.invalid++;
    });
  }

  /** Sizes of the per-call state, for leak checks and metrics. */
  stats(): { transactions: number; dialogs: number; cachedResponses: number } {
    return { transactions: this.clients.size, dialogs: this.dialogs.size, cachedResponses: this.served.size };
  }

  /** A Via for a new request; a fresh branch with the RFC 3261 magic cookie (§8.1.1.7). */
  newVia(): { value: string; branch: string } {
    const branch = `z9hG4bK${randomToken(10)}`;
    const t = this.transport;
    return { value: `SIP/2.0/${t.protocol} ${t.localHost}:${t.localPort};branch=${branch};rport`, branch };
  }

  contact(user = 'ringcast'): string {
    const t = this.transport;
    const param = t.protocol === 'TCP' ? ';transport=tcp' : '';
    return `<sip:${user}@${t.localHost}:${t.localPort}${param}>`;
  }

  sendRequest(request: SipRequest, remote: Remote, tu: ClientTransactionUser): ClientTransaction {
    request.headers.set('user-agent', USER_AGENT);
    const key = `${topViaBranch(request)}|${request.method}`;
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(request, remote, this.transport, tu, this.timers)
        : new NonInviteClientTransaction(request, remote, this.transport, tu, this.timers);
    tx.onTerminated = () => {
      if (this.clients.get(key) === tx) this.clients.delete(key);
    };
    if (tx.current !== 'terminated') this.clients.set(key, tx);
    return tx;
  }

  /** ACK to a 2xx is its own transaction-less request (§13.2.2.4), sent straight to the transport. */
  sendStateless(request: SipRequest | Buffer, remote: Remote): void {
    this.transport.send(request, remote);
  }

  registerDialog(callId: string, localTag: string, handler: DialogHandler): void {
    this.dialogs.set(`${callId}|${localTag}`, handler);
  }

  /**
   * A dialog whose call has ended: `handler` answers for it for 64·T1 (a late 2xx, §13.2.2.4), then it is
   * forgotten. Dialogs retire in the order they end and all wait as long, so one timer serves them all.
   */
  retireDialog(callId: string, localTag: string, handler: DialogHandler): void {
    const key = `${callId}|${localTag}`;
    this.dialogs.set(key, handler);
    this.retired.push({ key, handler, until: Date.now() + 64 * this.timers.T1 });
    if (!this.retireTimer && !this.closed) this.sweepRetired();
  }

  private readonly retired: Array<{ key: string; handler: DialogHandler; until: number }> = [];
  private retiredHead = 0;
  private retireTimer: NodeJS.Timeout | undefined;

  private readonly sweepRetired = (): void => {
    this.retireTimer = undefined;
    const now = Date.now();
    const list = this.retired;
    while (this.retiredHead < list.length && list[this.retiredHead]!.until <= now) {
      const { key, handler } = list[this.retiredHead++]!;
      // A dialog registered again under the key since (not expected: tags are random) stays.
      if (this.dialogs.get(key) === handler) this.dialogs.delete(key);
    }
    if (this.retiredHead > 1024 && this.retiredHead * 2 > list.length) {
      list.splice(0, this.retiredHead);
      this.retiredHead = 0;
    }
    const next = list[this.retiredHead];
    if (next && !this.closed) {
      this.retireTimer = setTimeout(this.sweepRetired, Math.max(1, next.until - now));
      this.retireTimer.unref();
    }
  };

  private onResponse(res: SipResponse): void {
    const cseq = cseqOf(res);
    const tx = this.clients.get(`${topViaBranch(res)}|${cseq.method}`);
    if (tx) {
      tx.receive(res);
      return;
    }
    if (cseq.method === 'INVITE' && res.status >= 200 && res.status < 300) {
      const tag = tagOf(res.headers.get('from'));
      const d = tag && this.dialogs.get(`${res.headers.get('call-id')}|${tag}`);
      if (d) {
        d.onStray2xx(res);
        return;
      }
    }
    this.dropped.unmatched++;
  }

  private onRequest(req: SipRequest, remote: Remote): void {
    const callId = req.headers.get('call-id')!;
    const toTag = tagOf(req.headers.get('to'));
    if (req.method === 'ACK') {
      // ACK of a non-2xx shares the INVITE's branch (§17.2.1); ACK of a 2xx is a new request (§13.2.2.4).
      const inviteKey = serverKey(req, 'INVITE');
      const cached = this.served.get(inviteKey);
      if (cached?.response && cached.response.status >= 300) {
        this.served.end(inviteKey);
        return;
      }
      const ackKey = `${callId}|${cseqOf(req).seq}`;
      clearTimeout(this.awaitingAck.get(ackKey));
      this.awaitingAck.delete(ackKey);
      const d = toTag && this.dialogs.get(`${callId}|${toTag}`);
      if (d) d.onAck(req);
      return;
    }
    // §17.2.3: a retransmitted request gets the cached response again and goes no further.
    if (this.served.absorb(req, remote)) return;
    if (req.method === 'CANCEL') {
      // We answer INVITEs at once, so there is never a pending one to cancel (§9.2: 481 when no match).
      this.respondStateless(remote, makeResponse(req, 481));
      return;
    }
    if (toTag) {
      const d = this.dialogs.get(`${callId}|${toTag}`);
      if (d) {
        d.onRequest(req, remote);
        return;
      }
      this.respondStateless(remote, makeResponse(req, 481));
      return;
    }
    if (req.method === 'OPTIONS') {
      const res = makeResponse(req, 200, randomToken());
      res.headers.append('allow', ALLOW);
      res.headers.append('accept', 'application/sdp');
      this.respondStateless(remote, res);
      return;
    }
    // This service only places calls: inbound calls and other out-of-dialog requests are declined.
    this.respondStateless(remote, makeResponse(req, req.method === 'INVITE' ? 603 : 405, randomToken()));
  }

  /**
   * Out-of-dialog answers are sent statelessly (§8.2.7): a retransmission just gets a fresh answer, and
   * nobody outside our dialogs can make us hold state.
   */
  private respondStateless(remote: Remote, res: SipResponse): void {
    if (this.closed) return;
    res.headers.set('user-agent', USER_AGENT);
    if (res.status === 405) res.headers.set('allow', ALLOW);
    this.transport.send(res, remote);
  }

  /** Sends a response and keeps it for retransmitted requests (64·T1, Timer J / H equivalents). */
  respond(req: SipRequest, remote: Remote, res: SipResponse): void {
    if (this.closed) return;
    res.headers.set('user-agent', USER_AGENT);
    if (res.status >= 200 && res.status < 300 && req.method === 'INVITE' && !res.headers.has('contact'))
      res.headers.append('contact', this.contact());
    if (res.status === 405) res.headers.set('allow', ALLOW);
    const tx = this.served.respond(req, remote, res);
    if (tx && req.method === 'INVITE' && res.status < 300 && !this.transport.reliable) {
      // §13.3.1.4: retransmit the 2xx at T1, doubling up to T2, until the ACK arrives.
      const ackKey = `${req.headers.get('call-id')}|${cseqOf(req).seq}`;
      const again = (interval: number) => {
        this.awaitingAck.set(
          ackKey,
          setTimeout(() => {
            this.transport.send(res, remote);
            again(Math.min(interval * 2, this.timers.T2));
          }, interval),
        );
      };
      again(this.timers.T1);
      tx.onEnd = () => {
        clearTimeout(this.awaitingAck.get(ackKey));
        this.awaitingAck.delete(ackKey);
      };
    }
  }

  /** Headers every in-dialog or initial request carries, in a fresh Headers. */
  baseHeaders(via: string, from: string, to: string, callId: string, cseq: string): Headers {
    const h = new Headers();
    h.append('via', via);
    h.append('max-forwards', '70');
    h.append('from', from);
    h.append('to', to);
    h.append('call-id', callId);
    h.append('cseq', cseq);
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retireTimer);
    for (const tx of [...this.clients.values()]) tx.terminate();
    this.served.close();
    await this.transport.close();
  }
}
