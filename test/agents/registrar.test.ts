import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/db.ts';
import type { SeatGroupRow, SipAccountRow } from '../../src/db/queries/agents.ts';
import { claimAgent, findSipAccount, registrationStore } from '../../src/db/queries/agents.ts';
import { digestAuthorization, parseChallenge } from '../../src/telephony/sip/digest.ts';
import {
  parseMessage,
  type SipMessage,
  type SipResponse,
  serialize,
} from '../../src/telephony/sip/message.ts';
import { Registrar } from '../../src/telephony/sip/registrar.ts';
import type { Remote, SipTransport, TransportEvents } from '../../src/telephony/sip/transport.ts';
import { seatGroupDb } from '../helpers/harness.ts';

/** A transport that records what the registrar sends, so RFC rules can be checked message by message. */
class RecordingTransport extends EventEmitter<TransportEvents> implements SipTransport {
  readonly protocol = 'UDP';
  readonly reliable = false;
  readonly localHost = '127.0.0.1';
  readonly localPort = 5060;
  readonly sent: SipResponse[] = [];
  /** Told of each response the registrar sends, so a test waits for the answer rather than for time. */
  private readonly answers = new EventEmitter<{ answer: [] }>();
  send(message: SipMessage | Buffer): void {
    // The registrar sends only responses, never bytes kept from an earlier message.
    if (Buffer.isBuffer(message) || message.kind !== 'response') return;
    this.sent.push(message);
    this.answers.emit('answer');
  }
  async close(): Promise<void> {}
  /** Delivers a request and resolves with the registrar's answer to it. */
  async deliver(text: string): Promise<SipResponse> {
    const before = this.sent.length;
    const parsed = parseMessage(Buffer.from(text));
    if ('error' in parsed) throw new Error(parsed.error);
    const answer = new Promise<SipResponse>((resolve, reject) => {
      const check = () => {
        const response = this.sent[before];
        if (!response) return;
        clearTimeout(timer);
        this.answers.off('answer', check);
        resolve(response);
      };
      // The bound on a missing answer only; a test that gets its answer never waits for it.
      const timer = setTimeout(() => {
        this.answers.off('answer', check);
        reject(new Error('no answer'));
      }, 2_500);
      this.answers.on('answer', check);
    });
    this.emit('message', parsed, { host: '127.0.0.1', port: 5070 } satisfies Remote);
    return answer;
  }
  /** Delivers a REGISTER and resolves with the registrar's answer. */
  register(headers: string[]): Promise<SipResponse> {
    return this.deliver(
      ['REGISTER sip:127.0.0.1:5060 SIP/2.0', ...headers, 'Content-Length: 0', '', ''].join('\r\n'),
    );
  }
}

describe('SIP registrar (RFC 3261 §10.3, digest per RFC 2617)', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let group: SeatGroupRow;
  let agents: SipAccountRow[];
  const clock = new ScaledClock(1);
  let cseq = 1;

  beforeAll(async () => {
    ({ db, drop, group, agents } = await seatGroupDb('registrar-group', clock.now()));
  });
  afterAll(async () => drop?.());

  const headers = (user: string, extra: string[] = [], aor = user) => [
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK' + String(cseq),
    `From: <sip:${aor}@127.0.0.1>;tag=abc`,
    `To: <sip:${aor}@127.0.0.1>`,
    'Call-ID: reg-test-1',
    `CSeq: ${cseq++} REGISTER`,
    'Max-Forwards: 70',
    ...extra,
  ];
  const authorized = async (
    transport: RecordingTransport,
    agent: SipAccountRow,
    extra: string[],
    options: { password?: string; aor?: string } = {},
  ) => {
    const challenge = await transport.register(headers(agent.username, extra, options.aor));
    expect(challenge.status).toBe(401);
    const parsed = parseChallenge(challenge.headers.get('www-authenticate') ?? '')!;
    const authorization = digestAuthorization({
      challenge: parsed,
      method: 'REGISTER',
      uri: 'sip:127.0.0.1:5060',
      username: agent.username,
      password: options.password ?? agent.password,
    })!;
    return transport.register(
      headers(agent.username, [...extra, `Authorization: ${authorization}`], options.aor),
    );
  };

  it('a REGISTER without credentials gets 401 with an MD5, qop=auth challenge', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const answer = await transport.register(
      headers(agents[0]!.username, ['Contact: <sip:a@127.0.0.1:5070>']),
    );
    expect(answer.status).toBe(401);
    const challenge = parseChallenge(answer.headers.get('www-authenticate') ?? '');
    expect(challenge).toMatchObject({ realm: 'ringcast', algorithm: 'MD5', qop: ['auth'] });
  });

  it('a correct digest binds the Contact for the requested expiry; the agent becomes idle and claimable', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const agent = agents[0]!;
    const answer = await authorized(transport, agent, [
      'Contact: <sip:agent0@127.0.0.1:5070>',
      'Expires: 120',
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('contact')).toBe('<sip:agent0@127.0.0.1:5070>;expires=120');
    const row = (await findSipAccount(db, agent.username))!;
    expect(row.state).toBe('idle');
    expect(row.contact).toBe('sip:agent0@127.0.0.1:5070');
    expect(row.expires_at!.getTime() - clock.now()).toBeGreaterThan(115_000);
    const claimed = await claimAgent(db, group.id, clock.now());
    expect(claimed?.username).toBe(agent.username);
    await db.query("UPDATE sip_accounts SET state = 'idle' WHERE id = $1", [agent.id]);
  });

  it('an expired binding is never offered a call', async () => {
    const later = clock.now() + 121_000;
    expect(await claimAgent(db, group.id, later)).toBeNull();
  });

  it('a wrong password is challenged again and binds nothing', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const agent = agents[1]!;
    const answer = await authorized(transport, agent, ['Contact: <sip:x@127.0.0.1:5070>'], {
      password: 'wrong',
    });
    expect(answer.status).toBe(401);
    expect((await findSipAccount(db, agent.username))!.expires_at).toBeNull();
  });

  it("an account may not register another account's address of record (403)", async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const answer = await authorized(transport, agents[1]!, ['Contact: <sip:x@127.0.0.1:5070>'], {
      aor: agents[2]!.username,
    });
    expect(answer.status).toBe(403);
  });

  it('an expiry below the minimum gets 423 with Min-Expires; the contact expires param beats the header', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const brief = await authorized(transport, agents[3]!, ['Contact: <sip:y@127.0.0.1:5070>', 'Expires: 10']);
    expect(brief.status).toBe(423);
    expect(brief.headers.get('min-expires')).toBe('30');
    const param = await authorized(transport, agents[3]!, [
      'Contact: <sip:y@127.0.0.1:5070>;expires=45',
      'Expires: 10',
    ]);
    expect(param.status).toBe(200);
    expect(param.headers.get('contact')).toBe('<sip:y@127.0.0.1:5070>;expires=45');
  });

  it('Expires 0 removes the binding: the agent is offline and never offered a call', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const agent = agents[3]!;
    const answer = await authorized(transport, agent, ['Contact: <sip:y@127.0.0.1:5070>', 'Expires: 0']);
    expect(answer.status).toBe(200);
    const row = (await findSipAccount(db, agent.username))!;
    expect(row).toMatchObject({ state: 'offline', contact: null, expires_at: null });
  });

  it('anything but REGISTER gets 405 with Allow: REGISTER', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const text =
      'OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKo1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
    const answer = await transport.deliver(text);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('REGISTER');
    expect(serialize(answer).toString()).toContain('SIP/2.0 405');
    expect(transport.sent[0]).toBe(answer);
  });

  it('RINGCAST_SIP_REGISTRAR_PORT turns the registrar on; unset, there is none', () => {
    const sip = { TELEPHONY_DRIVER: 'sip', RINGCAST_SIP_TRUNK: '127.0.0.1:5060' };
    const registrarOf = (env: Record<string, string>) => {
      const telephony = loadConfig({ ...sip, ...env }).telephony;
      return telephony.driver === 'sip' ? telephony.registrar : undefined;
    };
    expect(registrarOf({})).toBeNull();
    expect(registrarOf({ RINGCAST_SIP_REGISTRAR_PORT: '5070' })).toEqual({
      localHost: '127.0.0.1',
      localPort: 5070,
      realm: 'ringcast',
    });
    expect(() => registrarOf({ RINGCAST_SIP_REGISTRAR_PORT: 'x' })).toThrow(/RINGCAST_SIP_REGISTRAR_PORT/);
  });

  it('a retransmitted REGISTER gets the very same response (§17.2.2), not a second challenge', async () => {
    const transport = new RecordingTransport();
    new Registrar(transport, registrationStore(db), clock);
    const request = headers(agents[0]!.username, ['Contact: <sip:a@127.0.0.1:5070>']);
    const first = await transport.register(request);
    const again = await transport.register(request);
    expect(again.status).toBe(401);
    expect(serialize(again).toString()).toBe(serialize(first).toString());
  });
});
