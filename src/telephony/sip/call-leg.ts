/**
 * One outbound call as a SIP dialog usage (RFC 3261 §12-§15) plus its RTP session. It turns responses and
 * in-dialog requests into the driver events of `CallLeg`; it never parses bytes itself.
 *
 *   idle ──INVITE──► calling ──1xx──► proceeding ──2xx/ACK──► confirmed ──BYE (either side)──► terminated
 *     │                 │                 │
 *     │                 └─────────────────┴──final ≥300 / timeout / CANCEL+487──────────────► terminated
 *     └──hangup() before the INVITE left ───────────────────────────────────────────────────► terminated
 */
import { EventEmitter } from 'node:events';
import type { CallLeg, CallLegEvents, HangupCause, OriginateRequest, PreparedAudio } from '../driver.ts';
import { digestAuthorization, parseChallenge } from './digest.ts';
import {
  cseqOf,
  makeResponse,
  type SipRequest,
  type SipResponse,
  sameTransactionRequest,
  tagOf,
} from './message.ts';
import type { MediaEngine, MediaSession } from './rtp/media.ts';
import type { RtpStats } from './rtp/session.ts';
import type { SitClass } from './rtp/sit-detector.ts';
import {
  answerDirection,
  buildSdp,
  DEFAULT_DTMF_PT,
  type Direction,
  type G711Codec,
  negotiate,
  parseSdp,
} from './sdp.ts';
import { EndedDialog, SessionDialog } from './session-dialog.ts';
import { IGNORE_OUTCOME } from './transaction-client.ts';
import type { Remote } from './transport.ts';
import { parseRetryAfter, type TrunkHealth } from './trunk-health.ts';
import { ALLOW, type DialogHandler, randomToken, type UserAgentCore } from './user-agent-core.ts';

export interface LegConfig {
  trunkHost: string;
  trunkPort: number;
  transport: 'udp' | 'tcp';
  username?: string;
  password?: string;
  outboundProxy?: { host: string; port: number };
  localHost: string;
  codecs: readonly G711Codec[];
}

export interface LegContext {
  config: LegConfig;
  core: Promise<UserAgentCore>;
  /** Where this call's RTP runs (this thread or a media worker). */
  media: MediaEngine;
  /** New calls to the trunk wait here while it is paused (Retry-After) or down; results are reported to it. */
  trunk: TrunkHealth;
  onEnd(leg: SipCallLeg): void;
}

type LegState = 'idle' | 'calling' | 'proceeding' | 'confirmed' | 'terminated';

/** Final-response → cause table from the driver contract. */
export function causeForStatus(status: number): HangupCause {
  const reason =
    status === 486 || status === 600
      ? 'busy'
      : status === 408 || status === 480
        ? 'no-answer'
        : status === 603 || status === 403
          ? 'rejected'
          : status === 404 || status === 484 || status === 604
            ? 'invalid-number'
            : status === 500 || status === 502 || status === 503 || status === 504
              ? 'unavailable'
              : 'failed';
  return { sipCode: status, reason };
}

/**
 * Who is behind a BYE from the far end. RFC 3326 `Reason: Q.850;cause=N`: 16 (normal clearing) and 31
 * (normal, unspecified) are the callee hanging up, as is a BYE with no Q.850 reason; any other cause
 * (e.g. 38 network out of order, 41 temporary failure, 102 timer recovery) is the network ending the call.
 */
export function byeSender(bye: SipRequest): 'callee' | 'carrier' {
  for (const value of bye.headers.getAll('reason').flatMap((v) => v.split(','))) {
    const m = /^\s*Q\.850\s*;(?:.*;)?\s*cause\s*=\s*(\d+)/i.exec(value);
    if (m) return m[1] === '16' || m[1] === '31' ? 'callee' : 'carrier';
  }
  return 'callee';
}

/**
 * How long received audio is checked for a SIT: all early media (bounded by the ring timeout), and this
 * long after an answer — a network that answers to play an announcement starts it with the SIT at once,
 * and at ~10 µs a frame the detector should not run for the whole of 1,000 answered calls.
 */
const SIT_LISTEN_MS = 3_000;
const SIT_EARLY_MS = 120_000;

/** terminationCode for each SIT class: the SIP status a network would send for the same condition. */
const SIT_CODES: Readonly<Record<SitClass, number>> = {
  vacant: 404,
  intercept: 410,
  reorder: 500,
  'no-circuit': 503,
};

// Per-call callbacks (transactions, dialog) are method shorthand over `leg`, not arrow functions in object
// literals: tsx (esbuild keepNames) wraps each such arrow in a defineProperty('name') call, which costs
// every call and leaves the closure with a ~250-byte property dictionary, kept as long as the dialog (64·T1).

const RING_TIMEOUT: HangupCause = { sipCode: 487, reason: 'no-answer' };
const CANCELLED: HangupCause = { sipCode: 487, reason: 'cancelled' };
const MAX_AUTH_ATTEMPTS = 2;

export class SipCallLeg extends EventEmitter<CallLegEvents> implements CallLeg {
  readonly callId: string;
  readonly sipCallId: string;
  private state: LegState = 'idle';
  private core: UserAgentCore | undefined;
  private rtp: MediaSession | undefined;
  /** Tags, target, route set and CSeq spaces of this call's dialog (session-dialog.ts). */
  private readonly dialog: SessionDialog;
  /** Highest RSeq of a reliable provisional response we PRACKed (RFC 3262). */
  private lastRseq: number | undefined;
  private earlyMedia = false;
  private invite: SipRequest | undefined;
  private inviteTx: { readonly current: string; terminate(): void } | undefined;
  private ack: SipRequest | undefined;
  private ringing = false;
  private cancelCause: HangupCause | undefined;
  private cancelSent = false;
  private authAttempts = 0;
  private sdpVersion = 1;
  private readonly sdpSession = Date.now() % 1_000_000_000;
  private readonly timers = new Set<NodeJS.Timeout>();
  private finished: HangupCause | undefined;
  private readonly ended: Promise<void>;
  /** How the user-agent core reaches this call with in-dialog requests, ACKs and stray 2xx. */
  private readonly dialogHandler: DialogHandler;
  private resolveEnded!: () => void;
  private byeDone: Promise<void> = Promise.resolve();
  /**
   * Aborts the wait for the trunk when the leg ends before its INVITE left. Made only when the trunk is
   * paused or down: an abort builds a DOMException, a cost every call would otherwise pay at its end.
   */
  private trunkWait: AbortController | undefined;
  /** The INVITE goes to the trunk (not to a registered agent's Contact): its outcome is reported. */
  private viaTrunk = false;

  constructor(
    private readonly ctx: LegContext,
    private readonly request: OriginateRequest,
  ) {
    super();
    this.callId = request.callId;
    this.sipCallId = `${randomToken(10)}@${ctx.config.localHost}`;
    this.dialog = new SessionDialog(this.sipCallId, randomToken(6), ctx.config);
    const leg = this;
    this.dialogHandler = {
      onRequest(req, remote) {
        leg.onDialogRequest(req, remote);
      },
      onAck(req) {
        // Offer in our 2xx to an offer-less re-INVITE: the answer arrives in the ACK (§13.2.1).
        if (req.body.length) leg.applyRemoteSdp(req.body, true);
      },
      // A 2xx after the INVITE transaction ended: re-ACK it, or, if we never took it, ACK and BYE it.
      onStray2xx(res) {
        leg.on2xx(res);
      },
    };
    this.ended = new Promise((r) => {
      this.resolveEnded = r;
    });
    // Emit events only after the caller has had a chance to attach listeners.
    queueMicrotask(() => {
      this.start().catch(() => this.finish({ sipCode: 503, reason: 'unavailable' }));
    });
  }

  get rtpStats(): RtpStats | undefined {
    return this.rtp?.stats;
  }

  get codec(): G711Codec | undefined {
    return this.rtp?.negotiated?.codec;
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private get cfg(): LegConfig {
    return this.ctx.config;
  }

  private async start(): Promise<void> {
    // The numbers go into URIs and headers: anything beyond URI-safe user characters could inject headers.
    if (!/^[0-9A-Za-z+*#._-]{1,64}$/.test(this.request.to)) {
      this.finish({ sipCode: 484, reason: 'invalid-number' });
      return;
    }
    const core = await this.ctx.core;
    if (this.state === 'terminated') return;
    this.core = core;
    const rtp = await this.ctx.media.open(this.cfg.localHost);
    if (this.state !== 'idle') {
      rtp.close();
      return;
    }
    this.rtp = rtp;
    this.rtp.on('dtmf', (d) => {
      if (this.state === 'confirmed') this.emit('dtmf', d);
    });
    this.rtp.on('sit', (cls) => this.onSit(cls));
    this.viaTrunk = this.agentTarget() === undefined;
    // Retry-After / trunk down: the call waits (its attempt is committed) until the trunk takes calls again.
    if (this.viaTrunk && this.ctx.trunk.state !== 'open') {
      this.trunkWait = new AbortController();
      const admitted = await this.ctx.trunk.admit(this.trunkWait.signal);
      this.trunkWait = undefined;
      if (!admitted) return;
    }
    if (this.state !== 'idle') return;
    core.registerDialog(this.sipCallId, this.dialog.localTag, this.dialogHandler);
    this.state = 'calling';
    this.after(this.request.ringTimeoutMs, () => {
      if (this.state === 'calling' || this.state === 'proceeding') this.requestCancel(RING_TIMEOUT);
    });
    this.sendInvite();
  }

  /** A registered agent is called at its Contact (OriginateRequest.uri); everyone else via the trunk. */
  private agentTarget(): string | undefined {
    return this.request.uri && /^sips?:[^\s<>"]+$/i.test(this.request.uri) ? this.request.uri : undefined;
  }

  /** Tells the trunk's health how an INVITE to the trunk ended (final response, Timer B, transport error). */
  private reportTrunk(result: Parameters<TrunkHealth['report']>[0]): void {
    if (this.viaTrunk) this.ctx.trunk.report(result);
  }

  private sendInvite(auth?: { header: string; value: string }): void {
    const core = this.core!;
    const c = this.cfg;
    const tp = c.transport === 'tcp' ? ';transport=tcp' : '';
    const target = this.agentTarget();
    const uri = target ?? `sip:${this.request.to}@${c.trunkHost}:${c.trunkPort}${tp}`;
    const via = core.newVia();
    const fromUser = /^[0-9A-Za-z+._-]{1,64}$/.test(this.request.from) ? this.request.from : 'anonymous';
    const h = core.baseHeaders(
      via.value,
      `<sip:${fromUser}@${c.trunkHost}>;tag=${this.dialog.localTag}`,
      target ? `<${target}>` : `<sip:${this.request.to}@${c.trunkHost}>`,
      this.sipCallId,
      `${this.dialog.nextSeq()} INVITE`,
    );
    if (c.outboundProxy) h.append('route', `<sip:${c.outboundProxy.host}:${c.outboundProxy.port};lr>`);
    h.append('contact', core.contact());
    h.append('allow', ALLOW);
    // RFC 3262 §4: we can acknowledge reliable provisional responses (PRACK).
    h.append('supported', '100rel');
    h.append('content-type', 'application/sdp');
    if (auth) h.append(auth.header, auth.value);
    const body = Buffer.from(this.localSdp(c.codecs));
    this.invite = { kind: 'request', method: 'INVITE', uri, headers: h, body };
    // A re-sent (authenticated) INVITE is a new transaction: it has had no provisional response yet.
    this.state = 'calling';
    this.cancelSent = false;
    const invite = this.invite;
    const leg = this;
    this.inviteTx = core.sendRequest(invite, this.dialog.nextHop(uri), {
      onResponse(res) {
        leg.onInviteResponse(invite, res);
      },
      onTimeout() {
        if (leg.invite !== invite) return;
        if (!leg.cancelCause) leg.reportTrunk({ kind: 'timeout' });
        leg.finish(leg.cancelCause ?? { sipCode: 408, reason: 'unavailable' });
      },
      onTransportError() {
        if (leg.invite !== invite) return;
        leg.reportTrunk({ kind: 'transport-error' });
        leg.finish({ sipCode: 503, reason: 'unavailable' });
      },
    });
  }

  private localSdp(codecs: readonly G711Codec[], direction: Direction = 'sendrecv'): string {
    return buildSdp({
      direction,
      address: this.cfg.localHost,
      port: this.rtp?.localPort ?? 0,
      sessionId: this.sdpSession,
      version: this.sdpVersion++,
      codecs,
      dtmfPayloadType: this.rtp?.negotiated?.dtmfPayloadType ?? DEFAULT_DTMF_PT,
    });
  }

  private onInviteResponse(invite: SipRequest, res: SipResponse): void {
    if (invite !== this.invite) return;
    const s = res.status;
    if (s >= 300 || (s >= 200 && !this.ack)) {
      this.reportTrunk({
        kind: 'response',
        status: s,
        retryAfterS: parseRetryAfter(res.headers.get('retry-after')),
      });
    }
    if (s < 200) {
      if (this.state === 'terminated') return;
      if (s > 100 && this.isReliable(res) && !this.acknowledgeReliable(res)) return;
      // Any provisional response, 100 included, allows a CANCEL (§9.1); only 180/183 mean the phone rings.
      this.state = 'proceeding';
      if (s > 100 && res.body.length && !this.earlyMedia) this.startEarlyMedia(res);
      if ((s === 180 || s === 183) && !this.ringing) {
        this.ringing = true;
        this.emit('ringing');
      }
      // §9.1: a CANCEL waits for a provisional response; one arriving now releases it.
      if (this.cancelCause && !this.cancelSent) this.sendCancel();
      return;
    }
    if (s < 300) {
      this.on2xx(res);
      return;
    }
    if (
      (s === 401 || s === 407) &&
      this.state !== 'terminated' &&
      !this.cancelCause &&
      this.retryWithAuth(res)
    )
      return;
    // Our CANCEL (ring timeout or hangup) ends the INVITE with 487: the cause is ours, not the callee's.
    // After a SIT, whatever final response follows, the tone is the better reason.
    const sit = this.cancelCause?.reason.startsWith('sit-');
    this.finish(this.cancelCause && (s === 487 || sit) ? this.cancelCause : causeForStatus(s));
  }

  /**
   * Early media (RFC 3960 gateway model): a 18x with SDP answers our offer, so the RTP it announces is
   * received (and reaches 'audio' listeners) before the answer; carriers' announcements and Special
   * Information Tones arrive this way. Only the first SDP-carrying 18x sets it up; the 2xx may update it.
   */
  private startEarlyMedia(res: SipResponse): void {
    const desc = parseSdp(res.body.toString('latin1'));
    const media = desc && negotiate(desc, this.cfg.codecs, true);
    if (!media || !this.rtp) return;
    this.earlyMedia = true;
    this.rtp.configure(media);
    this.rtp.detectSit(SIT_EARLY_MS);
  }

  /** A SIT on early or answered media: the number cannot be reached; end the call and say why. */
  private onSit(cls: SitClass): void {
    const cause: HangupCause = { sipCode: SIT_CODES[cls], reason: `sit-${cls}`, by: 'carrier' };
    if (this.state === 'calling' || this.state === 'proceeding') this.requestCancel(cause);
    else if (this.state === 'confirmed') {
      this.sendBye();
      this.finish(cause);
    }
  }

  /** RFC 3262 §4: a provisional response the UAS will retransmit until we PRACK it. */
  private isReliable(res: SipResponse): boolean {
    const require = res.headers.getAll('require').flatMap((v) => v.split(','));
    return require.some((t) => t.trim().toLowerCase() === '100rel') && res.headers.has('rseq');
  }

  /**
   * RFC 3262 §4: PRACK each reliable provisional response once, in RSeq order; retransmissions (an RSeq
   * already seen) are discarded. The PRACK is sent within the early dialog the response created (§12.1.2:
   * its To tag, Contact and reversed Record-Route). Returns false when the response is to be ignored.
   */
  private acknowledgeReliable(res: SipResponse): boolean {
    const rseq = Number(res.headers.get('rseq'));
    if (!Number.isInteger(rseq) || rseq < 0) return false;
    const tag = tagOf(res.headers.get('to'));
    const d = this.dialog;
    if (!tag || (d.remoteTag !== undefined && d.remoteTag !== tag)) return false; // another fork
    if (this.lastRseq !== undefined && rseq <= this.lastRseq) return false;
    this.lastRseq = rseq;
    if (d.remoteTag === undefined) d.establish(res, this.invite!.uri);
    const prack = this.inDialogRequest('PRACK');
    prack.headers.append('rack', `${rseq} ${cseqOf(res).seq} INVITE`);
    this.core!.sendRequest(prack, d.hop, IGNORE_OUTCOME);
    return true;
  }

  private retryWithAuth(res: SipResponse): boolean {
    if (this.authAttempts >= MAX_AUTH_ATTEMPTS) return false;
    const auth = this.authFor(res, this.invite!);
    if (!auth) return false;
    this.authAttempts++;
    // §22.2: same Call-ID and From tag, CSeq incremented, new branch.
    this.sendInvite(auth);
    return true;
  }

  /** The credentials header answering a 401/407 to `request`, if we have credentials it can use. */
  private authFor(res: SipResponse, request: SipRequest): { header: string; value: string } | undefined {
    const { username, password } = this.cfg;
    if (username === undefined || password === undefined) return undefined;
    const proxy = res.status === 407;
    const raw = res.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate');
    const challenge = raw === undefined ? undefined : parseChallenge(raw);
    if (!challenge) return undefined;
    const value = digestAuthorization({
      challenge,
      method: request.method,
      uri: request.uri,
      username,
      password,
    });
    return value ? { header: proxy ? 'proxy-authorization' : 'authorization', value } : undefined;
  }

  private on2xx(res: SipResponse): void {
    const d = this.dialog;
    if (this.ack && d.remoteTag === tagOf(res.headers.get('to'))) {
      // Retransmitted 2xx: our ACK was lost, send it again (§13.2.2.4).
      this.core!.sendStateless(this.ack, d.hop);
      return;
    }
    if (this.ack) return; // A second forked 2xx; with a trunk this does not happen, so it is ignored.
    d.establish(res, this.invite!.uri);
    this.ack = this.inDialogRequest('ACK', cseqOf(res).seq);
    this.core!.sendStateless(this.ack, d.hop);
    if (this.state === 'terminated' || this.cancelCause) {
      // The 2xx crossed our CANCEL: the call exists, so it must be ended with BYE (§9.1, §15).
      this.state = 'confirmed';
      this.sendBye();
      this.finish(this.cancelCause ?? RING_TIMEOUT);
      return;
    }
    const desc = parseSdp(res.body.toString('latin1'));
    const media = desc && negotiate(desc, this.cfg.codecs, true);
    this.state = 'confirmed';
    if (!media) {
      this.sendBye();
      this.finish({ sipCode: 488, reason: 'failed' });
      return;
    }
    this.rtp!.configure(media);
    // Some networks "answer" and then play the SIT and announcement: keep listening for a while.
    this.rtp!.detectSit(SIT_LISTEN_MS);
    this.emit('answered');
  }

  private inDialogRequest(method: string, seq?: number, body?: Buffer): SipRequest {
    return this.dialog.request(this.core!, this.invite!, method, seq, body);
  }

  private requestCancel(cause: HangupCause): void {
    if (this.cancelCause) return;
    this.cancelCause = cause;
    if (this.state === 'proceeding') this.sendCancel();
    // §9.1: with no final response 64·T1 after we asked to cancel, the INVITE is considered cancelled.
    this.after(64 * (this.core?.timers.T1 ?? 500), () => this.finish(cause));
  }

  /** §9.1: CANCEL copies Request-URI, Call-ID, From, To, CSeq number and the top Via of the INVITE. */
  private sendCancel(): void {
    const inv = this.invite;
    if (!inv || this.cancelSent) return;
    this.cancelSent = true;
    const cancel = sameTransactionRequest(inv, 'CANCEL', inv.headers.get('to')!);
    this.core!.sendRequest(cancel, this.dialog.nextHop(inv.uri), IGNORE_OUTCOME);
  }

  private sendBye(): void {
    this.byeDone = new Promise((resolve) => this.sendByeAttempt(resolve, 0));
  }

  /** One BYE; `done` once it has a final answer, timed out or failed to leave. */
  private sendByeAttempt(done: () => void, attempt: number, auth?: { header: string; value: string }): void {
    const bye = this.inDialogRequest('BYE');
    if (auth) bye.headers.append(auth.header, auth.value);
    const leg = this;
    this.core!.sendRequest(bye, this.dialog.hop, {
      onResponse(r) {
        if (r.status < 200) return;
        // Some trunks challenge in-dialog requests too; answer once per BYE (§22.2).
        const retry = (r.status === 401 || r.status === 407) && attempt < 1 && leg.authFor(r, bye);
        if (retry) leg.sendByeAttempt(done, attempt + 1, retry);
        else done();
      },
      onTimeout: done,
      onTransportError() {
        done();
      },
    });
  }

  private onDialogRequest(req: SipRequest, remote: Remote): void {
    const core = this.core!;
    const seq = cseqOf(req).seq;
    // §12.2.2: a lower CSeq than one already seen is out of order.
    if (!this.dialog.acceptRemoteSeq(seq)) {
      core.respond(req, remote, makeResponse(req, 500, undefined, 'Out Of Order'));
      return;
    }
    if (this.state !== 'confirmed') {
      core.respond(req, remote, makeResponse(req, 481));
      return;
    }
    switch (req.method) {
      case 'BYE':
        core.respond(req, remote, makeResponse(req, 200));
        this.finish({ sipCode: 200, reason: 'normal', by: byeSender(req) });
        return;
      case 'INVITE':
      case 'UPDATE': {
        if (req.body.length && !this.applyRemoteSdp(req.body, false)) {
          core.respond(req, remote, makeResponse(req, 488));
          return;
        }
        const res = makeResponse(req, 200);
        res.headers.append('contact', core.contact());
        res.headers.append('content-type', 'application/sdp');
        // Answer with the one codec in use; an offer-less re-INVITE gets our full offer.
        const codecs = req.body.length ? [this.rtp!.negotiated!.codec] : this.cfg.codecs;
        const peer = this.rtp!.negotiated!.direction;
        res.body = Buffer.from(this.localSdp(codecs, req.body.length ? answerDirection(peer) : 'sendrecv'));
        core.respond(req, remote, res);
        return;
      }
      case 'OPTIONS': {
        const res = makeResponse(req, 200);
        res.headers.append('allow', ALLOW);
        res.headers.append('accept', 'application/sdp');
        res.headers.append('content-type', 'application/sdp');
        res.body = Buffer.from(this.localSdp([this.rtp!.negotiated!.codec]));
        core.respond(req, remote, res);
        return;
      }
      case 'INFO': {
        // SIP INFO DTMF (application/dtmf-relay), used by some trunks instead of RFC 4733.
        const m = /Signal\s*=\s*([0-9*#])/i.exec(req.body.toString('latin1'));
        core.respond(req, remote, makeResponse(req, 200));
        if (m && /dtmf/i.test(req.headers.get('content-type') ?? '')) this.emit('dtmf', m[1]!);
        return;
      }
      default:
        core.respond(req, remote, makeResponse(req, 501));
    }
  }

  private applyRemoteSdp(body: Buffer, isAnswer: boolean): boolean {
    const desc = parseSdp(body.toString('latin1'));
    const media = desc && negotiate(desc, this.cfg.codecs, isAnswer);
    if (!media) return false;
    this.rtp?.configure(media);
    return true;
  }

  play(audio: PreparedAudio, loops: number): Promise<boolean> {
    if (this.state !== 'confirmed' || !this.rtp) return Promise.resolve(false);
    return this.rtp.play(audio, loops);
  }

  stopPlayback(): void {
    this.rtp?.stopPlayback();
  }

  async hangup(): Promise<void> {
    switch (this.state) {
      case 'idle':
        this.finish(CANCELLED);
        break;
      case 'calling':
      case 'proceeding':
        this.requestCancel(CANCELLED);
        await this.ended;
        break;
      case 'confirmed':
        this.sendBye();
        this.finish({ sipCode: 200, reason: 'normal', by: 'system' });
        break;
      default:
        break;
    }
    await this.byeDone;
  }

  async bridge(other: CallLeg): Promise<void> {
    if (!(other instanceof SipCallLeg)) throw new Error('SipCallLeg can only bridge to another SipCallLeg');
    const a = this.rtp;
    const b = other.rtp;
    if (this.state !== 'confirmed' || other.state !== 'confirmed' || !a || !b) return;
    a.stopPlayback();
    b.stopPlayback();
    const ab = (p: Buffer, c: G711Codec, m: boolean) => b.relay(p, c, m);
    const ba = (p: Buffer, c: G711Codec, m: boolean) => a.relay(p, c, m);
    a.on('audio', ab);
    b.on('audio', ba);
    await Promise.race([this.ended, other.ended]);
    a.off('audio', ab);
    b.off('audio', ba);
  }

  /** Ends the leg once: stops media and timers, emits `hangup`, keeps the dialog briefly for stray 2xx. */
  private finish(cause: HangupCause): void {
    if (this.finished) return;
    this.finished = cause;
    this.state = 'terminated';
    this.trunkWait?.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // An INVITE transaction still waiting (cancel given up after 64·T1) would otherwise never be released,
    // and one in Accepted would keep this leg for Timer M: a late or retransmitted 2xx reaches the ended
    // dialog below instead, which ACKs it (and BYEs it if we never took the call), as the transaction would.
    const txState = this.inviteTx?.current;
    if (txState === 'calling' || txState === 'proceeding' || txState === 'accepted')
      this.inviteTx?.terminate();
    this.inviteTx = undefined;
    this.rtp?.close();
    const core = this.core;
    if (core && this.invite) {
      // The dialog outlives the call for 64·T1 (§13.2.2.4) as a small EndedDialog, not as this leg: its
      // media session, listeners and prompt state go now (kept 32 s each, ended legs were most of the
      // garbage collector's work at 1,000 setups/s).
      const ended = new EndedDialog(core, this.dialog, this.invite, this.ack);
      core.retireDialog(this.sipCallId, this.dialog.localTag, ended);
    }
    this.ctx.onEnd(this);
    this.emit('hangup', cause);
    this.resolveEnded();
  }
}
