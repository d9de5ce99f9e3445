/**
 * Client transactions (RFC 3261 §17.1), one class per kind, each a small state machine driven by responses
 * and timers. A transaction owns retransmission; the transaction user (TU) sees each response once, except 2xx
 * to INVITE, whose retransmissions the TU must see to re-send its ACK (RFC 6026 "Accepted" state).
 *
 *   INVITE:      Calling ──1xx──► Proceeding ──2xx──► Accepted ──Timer M──► Terminated
 *                   │                 │
 *                   └──300-699────────┴──► Completed (ACK sent) ──Timer D──► Terminated
 *
 *   non-INVITE:  Trying ──1xx──► Proceeding ──final──► Completed ──Timer K──► Terminated
 *
 * Written here rather than taken from npm `sip` (kirm/sip.js 0.0.6): that package stops Timers E and F on
 * a provisional response (so a non-INVITE that got 100 never retransmits nor times out), does not cap E at
 * T2, keeps Timer K at 5 s on TCP, and is untyped CommonJS with process-global state. See docs/sip.md.
 */
import { type SipRequest, type SipResponse, sameTransactionRequest } from './message.ts';
import type { SipTimers } from './timers.ts';
import type { Remote, SipTransport } from './transport.ts';

export interface ClientTransactionUser {
  onResponse(response: SipResponse): void;
  /** Timer B / Timer F fired: treated by the TU as a 408 (§8.1.3.1). */
  onTimeout(): void;
  onTransportError(error: Error): void;
}

type State = 'calling' | 'trying' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

/**
 * A user that ignores every outcome: for requests whose outcome does not matter (PRACK, CANCEL), and in
 * place of the real user once a transaction is Completed. It is never called again there, and dropping the
 * real one lets an ended call be collected at once rather than after Timer D / K (32 s / 5 s on UDP).
 */
export const IGNORE_OUTCOME: ClientTransactionUser = {
  onResponse() {},
  onTimeout() {},
  onTransportError() {},
};

/** Timer A (INVITE) / Timer E (non-INVITE): request retransmission on unreliable transports. */
const RETRANSMIT = 'A/E';
/** Timer B (INVITE) / Timer F (non-INVITE): no final response within 64·T1. */
const TIMEOUT = 'B/F';

abstract class ClientTransaction {
  protected state: State;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Set by the user-agent core (not a field initialiser: see the note on callbacks in call-leg.ts). */
  onTerminated: (() => void) | undefined;

  /**
   * Sends the request and starts both timers the two kinds share (§17.1.1.2, §17.1.2.2): "If an unreliable
   * transport is being used, the client transaction MUST start timer A [E] with a value of T1"; "For any
   * transport, the client transaction MUST start timer B [F] with a value of 64*T1". Each is stopped when
   * the transaction leaves the state it guards, so firing is always a retransmission or a timeout.
   */
  constructor(
    readonly request: SipRequest,
    protected readonly remote: Remote,
    protected readonly transport: SipTransport,
    protected tu: ClientTransactionUser,
    protected readonly t: SipTimers,
  ) {
    this.state = request.method === 'INVITE' ? 'calling' : 'trying';
    this.transmit();
    // Subclasses keep no fields of their own, so their override is safe to call from here.
    if (!transport.reliable) this.retransmitAfter(t.T1);
    this.startTimer(TIMEOUT, 64 * t.T1, () => {
      this.terminate();
      this.tu.onTimeout();
    });
  }

  /** Schedules the next retransmission (Timer A or E) `interval` ms from now. */
  protected abstract retransmitAfter(interval: number): void;

  get current(): State {
    return this.state;
  }

  protected transmit(msg: SipRequest = this.request): void {
    this.transport.send(msg, this.remote, (error) => this.sendFailed(error));
  }

  /** §17.1.4: a transport failure is reported to the TU and ends the transaction. */
  private sendFailed(error: Error): void {
    if (this.state === 'terminated') return;
    this.terminate();
    this.tu.onTransportError(error);
  }

  protected startTimer(name: string, ms: number, fire: () => void): void {
    this.stopTimer(name);
    const t = setTimeout(() => {
      this.timers.delete(name);
      if (this.state !== 'terminated') fire();
    }, ms);
    this.timers.set(name, t);
  }

  protected stopTimer(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.onTerminated?.();
  }

  abstract receive(response: SipResponse): void;
}

export class InviteClientTransaction extends ClientTransaction {
  /** Timer A doubles on each retransmission while no response has come (§17.1.1.2). */
  protected retransmitAfter(interval: number): void {
    this.startTimer(RETRANSMIT, interval, () => {
      if (this.state !== 'calling') return;
      this.transmit();
      this.retransmitAfter(interval * 2);
    });
  }

  receive(response: SipResponse): void {
    const s = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (s < 200) {
          this.state = 'proceeding';
          this.stopTimer(RETRANSMIT);
          this.stopTimer(TIMEOUT);
          this.tu.onResponse(response);
        } else if (s < 300) {
          // RFC 6026 §8.4: 2xx moves to Accepted; Timer M = 64*T1 absorbs and forwards retransmissions.
          this.state = 'accepted';
          this.stopTimer(RETRANSMIT);
          this.stopTimer(TIMEOUT);
          this.startTimer('M', 64 * this.t.T1, () => this.terminate());
          this.tu.onResponse(response);
        } else {
          this.state = 'completed';
          this.stopTimer(RETRANSMIT);
          this.stopTimer(TIMEOUT);
          this.sendAck(response);
          // "Timer D ... at least 32 seconds for unreliable transports, and a value of zero seconds for reliable";
          // 64*T1 is 32 s with the default T1 and shrinks with test timers.
          this.startTimer('D', this.transport.reliable ? 0 : 64 * this.t.T1, () => this.terminate());
          this.tu.onResponse(response);
          this.tu = IGNORE_OUTCOME;
        }
        return;
      case 'accepted':
        if (s >= 200 && s < 300) this.tu.onResponse(response);
        return;
      case 'completed':
        // "Any retransmissions of the final response that are received while in the 'Completed' state MUST
        // cause the ACK to be re-passed to the transport layer for retransmission, but the newly received
        // response MUST NOT be passed up to the TU."
        if (s >= 300) this.sendAck(response);
        return;
      default:
        return;
    }
  }

  /** §17.1.1.3: the ACK for a non-2xx final response is part of the INVITE transaction. */
  private sendAck(response: SipResponse): void {
    // Its To is the response's, which carries the UAS's tag.
    this.transmit(sameTransactionRequest(this.request, 'ACK', response.headers.get('to')!));
  }
}

export class NonInviteClientTransaction extends ClientTransaction {
  protected retransmitAfter(interval: number): void {
    this.startTimer(RETRANSMIT, interval, () => {
      if (this.state !== 'trying' && this.state !== 'proceeding') return;
      this.transmit();
      // "the interval MUST be MIN(2*T1, T2)" doubling in Trying; in Proceeding it is reset to T2.
      this.retransmitAfter(this.state === 'proceeding' ? this.t.T2 : Math.min(interval * 2, this.t.T2));
    });
  }

  receive(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    if (response.status < 200) {
      if (this.state === 'trying') {
        this.state = 'proceeding';
        if (!this.transport.reliable) this.retransmitAfter(this.t.T2);
      }
      this.tu.onResponse(response);
      return;
    }
    this.state = 'completed';
    this.stopTimer(RETRANSMIT);
    this.stopTimer(TIMEOUT);
    // "Timer K ... T4 for unreliable transports, and zero seconds for reliable" — absorbs retransmissions.
    this.startTimer('K', this.transport.reliable ? 0 : this.t.T4, () => this.terminate());
    this.tu.onResponse(response);
    this.tu = IGNORE_OUTCOME;
  }
}
