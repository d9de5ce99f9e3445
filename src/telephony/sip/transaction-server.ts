/**
 * Server transactions (RFC 3261 §17.2) as one table, used by the user-agent core and the registrar, so
 * there is one place that decides what a retransmitted request gets.
 *
 *   (request) ──begin──► trying ──final response──► completed ──64·T1 (Timer J / H)──► gone
 *                           │                            ▲
 *                           └── retransmission: absorbed  └── retransmission: the final response again
 *
 * Keys follow §17.2.3: the top Via branch with the RFC 3261 cookie plus the method; for RFC 2543 peers
 * (no cookie) also Call-ID and CSeq number, so branch-less requests never match each other. The table
 * is bounded, so a flood of distinct requests cannot grow memory without limit.
 */
import { cseqOf, type SipRequest, type SipResponse, topViaBranch } from './message.ts';
import type { SipTimers } from './timers.ts';
import type { Remote, SipTransport } from './transport.ts';

export interface ServerTransaction {
  readonly key: string;
  /** The final response, once sent (null while the TU is still working: retransmissions are absorbed). */
  response: SipResponse | null;
  remote: Remote;
  /** Runs when the transaction goes away (e.g. to stop a 2xx retransmission timer the TU added). */
  onEnd?: () => void;
  timer?: NodeJS.Timeout;
}

export function serverKey(req: SipRequest, method = req.method): string {
  const branch = topViaBranch(req);
  if (branch.startsWith('z9hG4bK')) return `${branch}|${method}`;
  return `${branch}|${req.headers.get('call-id')}|${cseqOf(req).seq}|${method}`;
}

export class ServerTransactions {
  private readonly table = new Map<string, ServerTransaction>();

  constructor(
    private readonly transport: SipTransport,
    private readonly timers: SipTimers,
    private readonly max = 10_000,
  ) {}

  get size(): number {
    return this.table.size;
  }

  get(key: string): ServerTransaction | undefined {
    return this.table.get(key);
  }

  /**
   * §17.2.1/§17.2.2: a request that matches a transaction is a retransmission: answered again with the
   * final response if there is one, absorbed while the TU works. Returns true when it was one.
   */
  absorb(req: SipRequest, remote: Remote): boolean {
    const tx = this.table.get(serverKey(req));
    if (!tx) return false;
    if (tx.response) this.transport.send(tx.response, remote);
    return true;
  }

  /** Opens a transaction in "trying" for a TU that answers later; false when the table is full. */
  begin(req: SipRequest, remote: Remote): boolean {
    if (this.table.size >= this.max) return false;
    const key = serverKey(req);
    this.table.set(key, { key, response: null, remote });
    return true;
  }

  /**
   * Sends `res`; a final response completes the transaction and is kept for 64·T1 so retransmissions get
   * it again. Returns the transaction (for TU additions such as 2xx retransmission), or undefined when
   * the response was provisional or the table was full.
   */
  respond(req: SipRequest, remote: Remote, res: SipResponse): ServerTransaction | undefined {
    this.transport.send(res, remote);
    if (res.status < 200) return undefined;
    const key = serverKey(req);
    const existing = this.table.get(key);
    if (existing?.response) this.end(key);
    if (!existing && this.table.size >= this.max) return undefined;
    const tx: ServerTransaction = existing ?? { key, response: null, remote };
    tx.response = res;
    tx.remote = remote;
    tx.timer = setTimeout(() => this.end(key), 64 * this.timers.T1);
    tx.timer.unref?.();
    this.table.set(key, tx);
    return tx;
  }

  /** Drops a transaction still in "trying" (its TU never answered). */
  abandon(req: SipRequest): void {
    const key = serverKey(req);
    if (this.table.get(key)?.response === null) this.table.delete(key);
  }

  end(key: string): void {
    const tx = this.table.get(key);
    if (!tx) return;
    if (tx.timer) clearTimeout(tx.timer);
    this.table.delete(key);
    tx.onEnd?.();
  }

  close(): void {
    for (const key of [...this.table.keys()]) this.end(key);
  }
}
