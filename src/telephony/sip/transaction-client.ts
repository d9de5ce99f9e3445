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
import { Headers, NO_BODY, type SipRequest, type SipResponse, sameTransactionRequest } from './message.ts';
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

/**
 * A non-INVITE's request once it is Completed: never sent again, so not kept (with its headers) for Timer K.
 */
const SENT_FOR_GOOD: SipRequest = {
  kind: 'request',
  method: '',
  uri: '',
  headers: new Headers(),
  body: NO_BODY,
};

/**
 * A transaction runs at most two timers at once, each in a field of its own (a map and two closures per timer
 * were a measurable share of a call's cost): the retransmission timer (A / E), and the state timer, which is
 * B / F while a final response is awaited, then M, D or K while retransmissions are absorbed. Whichever it is,
 * the state says what its firing means.
 */
abstract class ClientTransaction {
  protected state: State;
  private retransmitTimer: NodeJS.Timeout | undefined;
  /** The interval Timer A / E last waited, doubled or capped by the next one. */
  private retransmitInterval = 0;
  private stateTimer: NodeJS.Timeout | undefined;
  /** Kept while it may be sent again (and, for an INVITE, to build the ACK of a non-2xx response). */
  protected request: SipRequest;
  /** Set by the user-agent core (not a field initialiser: see the note on callbacks in call-leg.ts). */
  onTerminated: (() => void) | undefined;

  /**
   * Sends the request and starts both timers the two kinds share (§17.1.1.2, §17.1.2.2): "If an unreliable
   * transport is being used, the client transaction MUST start timer A [E] with a value of T1"; "For any
   * transport, the client transaction MUST start timer B [F] with a value of 64*T1". Each is stopped when
   * the transaction leaves the state it guards, so firing is always a retransmission or a timeout.
   */
  constructor(
    request: SipRequest,
    protected readonly remote: Remote,
    protected readonly transport: SipTransport,
    protected tu: ClientTransactionUser,
    protected readonly t: SipTimers,
  ) {
    this.request = request;
    this.state = request.method === 'INVITE' ? 'calling' : 'trying';
    this.transmit();
    if (!transport.reliable) this.retransmitAfter(t.T1);
    this.startStateTimer(64 * t.T1);
  }

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

  /** Schedules the next retransmission (Timer A or E) `interval` ms from now. */
  protected retransmitAfter(interval: number): void {
    clearTimeout(this.retransmitTimer);
    this.retransmitInterval = interval;
    this.retransmitTimer = setTimeout(ClientTransaction.retransmitFired, interval, this);
  }

  /** Timer A / E fired: the kind decides whether and when to send again, from the interval just waited. */
  protected abstract retransmit(lastInterval: number): void;

  protected stopRetransmitting(): void {
    clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  /** Starts the state timer afresh: Timer B / F at the start, M, D or K on the final response. */
  protected startStateTimer(ms: number): void {
    clearTimeout(this.stateTimer);
    this.stateTimer = setTimeout(ClientTransaction.stateTimerFired, ms, this);
  }

  protected stopStateTimer(): void {
    clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
  }

  // Static, with the transaction as the timer's argument: no closure per timer.
  private static retransmitFired(tx: ClientTransaction): void {
    tx.retransmitTimer = undefined;
    if (tx.state !== 'terminated') tx.retransmit(tx.retransmitInterval);
  }

  private static stateTimerFired(tx: ClientTransaction): void {
    tx.stateTimer = undefined;
    if (tx.state === 'terminated') return;
    const awaitingFinal = tx.state === 'calling' || tx.state === 'trying' || tx.state === 'proceeding';
    tx.terminate();
    // Timer B / F: no final response in time. M, D, K: the wait for retransmissions is over.
    if (awaitingFinal) tx.tu.onTimeout();
  }

  /** Completed: the user is never called again there, nor (for a non-INVITE) is the request sent. */
  protected letGo(keepRequest: boolean): void {
    this.tu = IGNORE_OUTCOME;
    if (!keepRequest) this.request = SENT_FOR_GOOD;
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.stateTimer);
    this.retransmitTimer = undefined;
    this.stateTimer = undefined;
    this.onTerminated?.();
  }

  abstract receive(response: SipResponse): void;
}

export class InviteClientTransaction extends ClientTransaction {
  /** Timer A doubles on each retransmission while no response has come (§17.1.1.2). */
  protected retransmit(lastInterval: number): void {
    if (this.state !== 'calling') return;
    this.transmit();
    this.retransmitAfter(lastInterval * 2);
  }

  receive(response: SipResponse): void {
    const s = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (s < 200) {
          this.state = 'proceeding';
          this.stopRetransmitting();
          this.stopStateTimer();
          this.tu.onResponse(response);
        } else if (s < 300) {
          // RFC 6026 §8.4: 2xx moves to Accepted; Timer M = 64*T1 absorbs and forwards retransmissions.
          this.state = 'accepted';
          this.stopRetransmitting();
          this.startStateTimer(64 * this.t.T1);
          this.tu.onResponse(response);
        } else {
          this.state = 'completed';
          this.stopRetransmitting();
          this.sendAck(response);
          // "Timer D ... at least 32 seconds for unreliable transports, and a value of zero seconds for reliable";
          // 64*T1 is 32 s with the default T1 and shrinks with test timers.
          this.startStateTimer(this.transport.reliable ? 0 : 64 * this.t.T1);
          this.tu.onResponse(response);
          // The INVITE stays: a retransmitted final response gets the ACK again, built from it.
          this.letGo(true);
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
  protected retransmit(lastInterval: number): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.transmit();
    // "the interval MUST be MIN(2*T1, T2)" doubling in Trying; in Proceeding it is reset to T2.
    this.retransmitAfter(this.state === 'proceeding' ? this.t.T2 : Math.min(lastInterval * 2, this.t.T2));
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
    this.stopRetransmitting();
    // "Timer K ... T4 for unreliable transports, and zero seconds for reliable" — absorbs retransmissions.
    this.startStateTimer(this.transport.reliable ? 0 : this.t.T4);
    this.tu.onResponse(response);
    this.letGo(false);
  }
}
