/**
 * The registrar agents' softphones register with (RFC 3261 §10.3), on its own SIP transport. It answers
 * REGISTER only (anything else: 405) and keeps no per-request state: REGISTER is idempotent, so a
 * retransmission simply gets a fresh answer (§8.2.7), and nonces are self-validating (an HMAC of their
 * issue time), so any process with the same secret can check them.
 *
 * Credentials are the SIP phone accounts of /voice/sipAdd: HTTP Digest, MD5, qop=auth (RFC 2617 §3.2.2),
 * or the legacy no-qop form. One binding per account [ours]: a new REGISTER replaces the Contact. A binding
 * lives until its expiry; an agent whose binding expired or was removed (Expires 0) reads as offline and
 * is never offered a call (src/domain/agent-state.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import {
  makeResponse,
  parseNameAddr,
  parseSipUri,
  type SipRequest,
  type SipResponse,
  unquote,
} from './message.ts';
import { DEFAULT_TIMERS, type SipTimers } from './timers.ts';
import { ServerTransactions } from './transaction-server.ts';
import { type Remote, type SipTransport, UdpTransport } from './transport.ts';
import { randomToken } from './user-agent-core.ts';

export interface RegistrarOptions {
  realm: string;
  /** Expiry given when the request names none (§10.2.1.1: a registrar chooses). */
  defaultExpiresS: number;
  /** Shorter requested expiries are refused with 423 and Min-Expires (§10.3 step 7). */
  minExpiresS: number;
  /** Longer requested expiries are cut to this. */
  maxExpiresS: number;
  /** How long a nonce is accepted (clock ms); older ones get a stale=true challenge. */
  nonceTtlMs: number;
  /** HMAC key for nonces; share it between processes serving the same agents. */
  nonceSecret?: Buffer;
  /** RFC 3261 timer bases (T1 sets how long answers are kept for retransmissions: 64·T1). */
  timers?: SipTimers;
}

export const defaultRegistrarOptions: RegistrarOptions = {
  realm: 'ringcast',
  defaultExpiresS: 3600,
  minExpiresS: 30,
  maxExpiresS: 7200,
  nonceTtlMs: 300_000,
};

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** The parameters of a `Digest …` Authorization header (RFC 2617 §3.2.2), lower-cased names. */
export function parseDigestCredentials(value: string): Map<string, string> | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)/g;
  for (let r = re.exec(m[1]!); r; r = re.exec(m[1]!)) params.set(r[1]!.toLowerCase(), unquote(r[2]!));
  return params;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type RegisterOutcome =
  | { kind: 'challenge'; stale: boolean }
  | { kind: 'forbidden'; reason: string }
  | { kind: 'too-brief' }
  | { kind: 'bound'; username: string; contact: string; expiresS: number }
  | { kind: 'unbound'; username: string }
  | { kind: 'queried'; username: string };

/**
 * What the registrar needs from storage, injected so SIP code never imports the database layer
 * (src/db/queries/agents.ts `registrationStore(db)` implements it; tests may pass an in-memory one).
 */
export interface RegistrationStore {
  /** The account's password and current binding, or null when no such account exists. */
  findAccount(
    username: string,
  ): Promise<{ password: string; contact: string | null; expiresAt: number | null } | null>;
  /** Stores a binding (RFC 3261 §10.3); the agent becomes reachable at `contact` until `expiresAt`. */
  bind(args: { username: string; contact: string; expiresAt: number; now: number }): Promise<void>;
  /** Removes the binding; the agent goes offline. */
  unbind(username: string, now: number): Promise<void>;
}

export class Registrar {
  private readonly options: RegistrarOptions;
  private readonly secret: Buffer;
  /** Every REGISTER's outcome, for logs and tests. */
  onOutcome: ((outcome: RegisterOutcome, remote: Remote) => void) | undefined;

  constructor(
    private readonly transport: SipTransport,
    private readonly store: RegistrationStore,
    private readonly clock: Clock,
    options: Partial<RegistrarOptions> = {},
  ) {
    this.options = { ...defaultRegistrarOptions, ...options };
    this.secret = this.options.nonceSecret ?? randomBytes(32);
    this.transactions = new ServerTransactions(transport, this.options.timers ?? DEFAULT_TIMERS);
    transport.on('message', (message, remote) => {
      if (message.kind !== 'request' || message.method === 'ACK') return;
      // §17.2.2: a retransmitted request gets the same final response again (or nothing while the first
      // is still being worked on), so a client never sees two different answers to one request.
      if (this.transactions.absorb(message, remote)) return;
      if (!this.transactions.begin(message, remote)) return;
      void this.onRequest(message, remote)
        .catch(() => this.makeAndSend(message, 500, 'Server Internal Error', remote))
        .finally(() => this.transactions.abandon(message));
    });
  }

  /** Final responses by request (transaction-server.ts), kept 64·T1 for retransmissions. */
  private readonly transactions: ServerTransactions;

  private makeAndSend(req: SipRequest, status: number, reason: string, remote: Remote): void {
    this.send(makeResponse(req, status, randomToken(), reason), remote, req);
  }

  private send(response: SipResponse, remote: Remote, req?: SipRequest): void {
    response.headers.set('user-agent', 'ringcast');
    if (req) this.transactions.respond(req, remote, response);
    else this.transport.send(response, remote);
  }

  private nonce(): string {
    const issued = String(this.clock.now());
    const mac = createHmac('sha256', this.secret).update(issued).digest('hex').slice(0, 32);
    return `${issued}.${mac}`;
  }

  /** 'ok', 'stale' (ours but too old) or 'bad' (not ours). */
  private checkNonce(nonce: string): 'ok' | 'stale' | 'bad' {
    const [issued, mac] = nonce.split('.');
    if (!issued || !mac) return 'bad';
    const expected = createHmac('sha256', this.secret).update(issued).digest('hex').slice(0, 32);
    if (!sameText(mac, expected)) return 'bad';
    return this.clock.now() - Number(issued) > this.options.nonceTtlMs ? 'stale' : 'ok';
  }

  private challenge(req: SipRequest, remote: Remote, stale: boolean): void {
    const res = makeResponse(req, 401, randomToken(), 'Unauthorized');
    const staleParam = stale ? ', stale=true' : '';
    res.headers.append(
      'www-authenticate',
      `Digest realm="${this.options.realm}", nonce="${this.nonce()}", algorithm=MD5, qop="auth"${staleParam}`,
    );
    this.send(res, remote, req);
    this.onOutcome?.({ kind: 'challenge', stale }, remote);
  }

  private async onRequest(req: SipRequest, remote: Remote): Promise<void> {
    if (req.method !== 'REGISTER') {
      const res = makeResponse(req, 405, randomToken(), 'Method Not Allowed');
      res.headers.append('allow', 'REGISTER');
      this.send(res, remote, req);
      return;
    }
    // §10.3 step 4: authenticate (RFC 2617 digest; we are a registrar, so 401 + WWW-Authenticate).
    const credentials = parseDigestCredentials(req.headers.get('authorization') ?? '');
    if (!credentials) return this.challenge(req, remote, false);
    const username = credentials.get('username') ?? '';
    const nonceState = this.checkNonce(credentials.get('nonce') ?? '');
    if (nonceState !== 'ok') return this.challenge(req, remote, nonceState === 'stale');
    const account = await this.store.findAccount(username);
    if (!account || credentials.get('realm') !== this.options.realm)
      return this.challenge(req, remote, false);
    const qop = credentials.get('qop');
    const ha1 = md5(`${username}:${this.options.realm}:${account.password}`);
    const ha2 = md5(`REGISTER:${credentials.get('uri') ?? ''}`);
    const expected =
      qop === 'auth'
        ? md5(
            `${ha1}:${credentials.get('nonce')}:${credentials.get('nc') ?? ''}:${credentials.get('cnonce') ?? ''}:auth:${ha2}`,
          )
        : md5(`${ha1}:${credentials.get('nonce')}:${ha2}`);
    if ((qop !== undefined && qop !== 'auth') || !sameText(credentials.get('response') ?? '', expected)) {
      // Wrong password (or a qop we did not offer): challenge again, as for no credentials.
      return this.challenge(req, remote, false);
    }
    // §10.3 step 6: the authenticated user may only register its own address of record (the To URI).
    const aor = parseSipUri(parseNameAddr(req.headers.get('to') ?? '')?.uri ?? '');
    if (aor?.user !== username) {
      this.send(makeResponse(req, 403, randomToken(), 'Forbidden'), remote, req);
      this.onOutcome?.({ kind: 'forbidden', reason: 'To is not the authenticated account' }, remote);
      return;
    }
    await this.bind(req, remote, username);
  }

  /** §10.3 steps 7-8: process the Contact header values and answer with the current binding. */
  private async bind(req: SipRequest, remote: Remote, username: string): Promise<void> {
    const now = this.clock.now();
    const contacts = req.headers.getAll('contact');
    const headerExpires = req.headers.get('expires');
    const ok = (contact: string | null, expiresS: number) => {
      const res = makeResponse(req, 200, randomToken(), 'OK');
      if (contact) res.headers.append('contact', `<${contact}>;expires=${expiresS}`);
      res.headers.append('date', new Date(now).toUTCString());
      this.send(res, remote, req);
    };
    if (contacts.length === 0) {
      const account = await this.store.findAccount(username);
      const left = account?.expiresAt ? Math.max(0, Math.round((account.expiresAt - now) / 1000)) : 0;
      ok(left > 0 ? account!.contact : null, left);
      this.onOutcome?.({ kind: 'queried', username }, remote);
      return;
    }
    // "Contact: *" with Expires 0 removes every binding (§10.2.2).
    if (contacts.some((c) => c.trim() === '*')) {
      if (headerExpires?.trim() !== '0' || contacts.length > 1) {
        this.send(makeResponse(req, 400, randomToken(), 'Bad Request'), remote, req);
        return;
      }
      await this.store.unbind(username, now);
      ok(null, 0);
      this.onOutcome?.({ kind: 'unbound', username }, remote);
      return;
    }
    const contact = parseNameAddr(contacts[contacts.length - 1]!);
    if (!contact || !parseSipUri(contact.uri)) {
      this.send(makeResponse(req, 400, randomToken(), 'Bad Request'), remote, req);
      return;
    }
    const asked = contact.params.get('expires') ?? headerExpires?.trim();
    const requested =
      asked === undefined || !/^\d+$/.test(asked) ? this.options.defaultExpiresS : Number(asked);
    if (requested === 0) {
      await this.store.unbind(username, now);
      ok(null, 0);
      this.onOutcome?.({ kind: 'unbound', username }, remote);
      return;
    }
    if (requested < this.options.minExpiresS) {
      const res = makeResponse(req, 423, randomToken(), 'Interval Too Brief');
      res.headers.append('min-expires', String(this.options.minExpiresS));
      this.send(res, remote, req);
      this.onOutcome?.({ kind: 'too-brief' }, remote);
      return;
    }
    const expiresS = Math.min(requested, this.options.maxExpiresS);
    const uri = contact.uri;
    await this.store.bind({ username, contact: uri, expiresAt: now + expiresS * 1000, now });
    ok(contact.uri, expiresS);
    this.onOutcome?.({ kind: 'bound', username, contact: uri, expiresS }, remote);
  }
}

/** Opens a UDP transport and serves REGISTER on it; `close` stops both. */
export async function listenRegistrar(
  at: { localHost: string; localPort: number; realm: string },
  store: RegistrationStore,
  clock: Clock,
): Promise<{ registrar: Registrar; close(): Promise<void> }> {
  const transport = await UdpTransport.open({ localHost: at.localHost, localPort: at.localPort });
  const registrar = new Registrar(transport, store, clock, { realm: at.realm });
  return { registrar, close: () => transport.close() };
}
