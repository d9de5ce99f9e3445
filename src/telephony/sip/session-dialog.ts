/**
 * The dialog state of one outbound call (RFC 3261 §12), apart from call logic: Call-ID and tags, the
 * remote target and route set, both CSeq spaces, where in-dialog requests go, and how they are built.
 * `call-leg.ts` owns the call's states, offer/answer and media; it asks this class for every request it
 * sends inside the dialog and for the CSeq check of every request it receives.
 *
 *   early (a 1xx with a To tag: PRACK may be sent) ──2xx──► confirmed (ACK, BYE, re-INVITE answers)
 */
import {
  cseqOf,
  type Headers,
  makeResponse,
  NO_BODY,
  parseNameAddr,
  parseSipUri,
  type SipRequest,
  type SipResponse,
  serialize,
  tagOf,
} from './message.ts';
import { IGNORE_OUTCOME } from './transaction-client.ts';
import type { Remote } from './transport.ts';
import type { DialogHandler, UserAgentCore } from './user-agent-core.ts';

export interface DialogRouting {
  trunkHost: string;
  trunkPort: number;
  outboundProxy?: { host: string; port: number };
}

export class SessionDialog {
  remoteTag: string | undefined;
  remoteTarget: string | undefined;
  routeSet: string[] = [];
  private localSeq = 0;
  private remoteSeq: number | undefined;

  constructor(
    readonly callId: string,
    readonly localTag: string,
    private readonly routing: DialogRouting,
  ) {}

  /** The CSeq number of the next request we start (INVITE, PRACK, BYE, re-sent INVITE). */
  nextSeq(): number {
    return ++this.localSeq;
  }

  /**
   * §12.1.2: a response with a To tag (a reliable 1xx, or the 2xx) sets the remote tag, the remote target
   * (its Contact, else the Request-URI) and the route set (its Record-Route, reversed).
   */
  establish(res: SipResponse, requestUri: string): void {
    this.remoteTag = tagOf(res.headers.get('to'));
    const contact = res.headers.getAll('contact')[0];
    this.remoteTarget = (contact && parseNameAddr(contact)?.uri) || requestUri;
    this.routeSet = res.headers.getAll('record-route').reverse();
  }

  /** §12.2.2: a request with a lower CSeq than one already seen is out of order (answer 500). */
  acceptRemoteSeq(seq: number): boolean {
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /** Where requests go: the outbound proxy if any, else the first route, else the target (§8.1.2). */
  nextHop(targetUri: string | undefined): Remote {
    if (this.routing.outboundProxy) return { ...this.routing.outboundProxy };
    const first = this.routeSet[0] !== undefined ? parseNameAddr(this.routeSet[0])?.uri : targetUri;
    const u = first === undefined ? undefined : parseSipUri(first);
    if (u && /^[0-9.]+$|^localhost$/i.test(u.host)) return { host: u.host, port: u.port ?? 5060 };
    return { host: this.routing.trunkHost, port: this.routing.trunkPort };
  }

  /** Where the next in-dialog request goes. */
  get hop(): Remote {
    return this.nextHop(this.remoteTarget);
  }

  /**
   * A request inside the dialog (§12.2.1.1): From/To of the INVITE with the remote tag, Call-ID, the given
   * or next CSeq, the route set (or the outbound proxy as a loose route), to the remote target.
   */
  request(core: UserAgentCore, invite: SipRequest, method: string, seq?: number, body?: Buffer): SipRequest {
    const via = core.newVia();
    const to = `${invite.headers.get('to')!}${this.remoteTag ? `;tag=${this.remoteTag}` : ''}`;
    const h: Headers = core.baseHeaders(
      via.value,
      invite.headers.get('from')!,
      to,
      this.callId,
      `${seq ?? this.nextSeq()} ${method}`,
    );
    for (const r of this.routeSet) h.append('route', r);
    const proxy = this.routing.outboundProxy;
    if (this.routeSet.length === 0 && proxy) h.append('route', `<sip:${proxy.host}:${proxy.port};lr>`);
    const auth = invite.headers.get('authorization') ?? invite.headers.get('proxy-authorization');
    // Trunks that challenged the INVITE commonly accept the same credentials on the ACK.
    if (method === 'ACK' && auth)
      h.append(invite.headers.has('authorization') ? 'authorization' : 'proxy-authorization', auth);
    return {
      kind: 'request',
      method,
      uri: this.remoteTarget ?? invite.uri,
      headers: h,
      body: body ?? NO_BODY,
    };
  }
}

/**
 * What is left of a call's dialog once the call has ended, for the 64·T1 in which its 2xx may still arrive
 * (§13.2.2.4): a retransmitted 2xx gets the ACK again; a 2xx to a call we never took (it crossed our CANCEL,
 * or came after we gave up waiting) is ACKed and ended with BYE; any other in-dialog request gets 481.
 *
 * An answered call keeps only its ACK (as text), where it goes and the far end's tag: at a few thousand calls
 * a second, 32 s of ended calls held as messages and dialogs were most of what the garbage collector
 * walked. A call never answered keeps its INVITE and dialog, which a late 2xx needs.
 */
export class EndedDialog implements DialogHandler {
  /** The ACK as latin1 text (a byte per character): on the JS heap, not a Buffer's memory of its own. */
  private ack: { text: string; hop: Remote; remoteTag: string | undefined } | undefined;
  private unanswered: { dialog: SessionDialog; invite: SipRequest } | undefined;

  constructor(
    private readonly core: UserAgentCore,
    dialog: SessionDialog,
    invite: SipRequest | undefined,
    ack: SipRequest | undefined,
  ) {
    if (ack) this.ack = { text: asText(ack), hop: dialog.hop, remoteTag: owned(dialog.remoteTag) };
    else if (invite) this.unanswered = { dialog, invite };
  }

  onStray2xx(res: SipResponse): void {
    if (this.ack) {
      // Another fork's 2xx (a different tag) would need its own ACK and BYE; trunks do not fork.
      if (this.ack.remoteTag === tagOf(res.headers.get('to')))
        this.core.sendStateless(Buffer.from(this.ack.text, 'latin1'), this.ack.hop);
      return;
    }
    if (!this.unanswered) return;
    const { dialog: d, invite } = this.unanswered;
    // Only the first 2xx is taken; its retransmissions are answered from the dialog's ACK below.
    this.unanswered = undefined;
    d.establish(res, invite.uri);
    const ack = d.request(this.core, invite, 'ACK', cseqOf(res).seq);
    this.core.sendStateless(ack, d.hop);
    this.core.sendRequest(d.request(this.core, invite, 'BYE'), d.hop, IGNORE_OUTCOME);
    this.ack = { text: asText(ack), hop: d.hop, remoteTag: d.remoteTag };
  }

  onRequest(req: SipRequest, remote: Remote): void {
    this.core.respond(req, remote, makeResponse(req, 481));
  }

  onAck(): void {}
}

/** The message as sent, as text: kept for 64·T1, a Buffer slice would pin Node's whole 8 KiB pool. */
function asText(message: SipRequest): string {
  return serialize(message).toString('latin1');
}

/** A string that no longer points into the message text it was cut from (which it would keep alive). */
function owned(s: string | undefined): string | undefined {
  return s === undefined || s.length < 13 ? s : Buffer.from(s, 'latin1').toString('latin1');
}
