import smpp from 'smpp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countSegments } from '../../src/sms/encoding.ts';
import { SmppTransport, type SmppTransportConfig } from '../../src/sms/smpp-transport.ts';
import { type DeliveryReceipt, SmsSendError } from '../../src/sms/transport.ts';
import { FakeSmsc, reassemble } from './fake-smsc.ts';

let smsc: FakeSmsc;
const transports: SmppTransport[] = [];

function transport(overrides: Partial<SmppTransportConfig> = {}): SmppTransport {
  const t = new SmppTransport({
    host: '127.0.0.1',
    port: smsc.port,
    systemId: 'ringcast',
    password: 'secret',
    bindMode: 'transceiver',
    enquireLinkMs: 30_000,
    connectTimeoutMs: 3_000,
    responseTimeoutMs: 3_000,
    reconnectInitialMs: 50,
    reconnectMaxMs: 200,
    ...overrides,
  });
  transports.push(t);
  return t;
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sendError(p: Promise<unknown>): Promise<SmsSendError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(SmsSendError);
    return error as SmsSendError;
  }
  throw new Error('expected the send to fail');
}

beforeEach(async () => {
  smsc = new FakeSmsc();
  await smsc.start();
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await smsc.kill();
});

describe('SMPP bind', () => {
  it('binds lazily as transceiver with the configured credentials on the first send', async () => {
    const t = transport();
    await new Promise((r) => setTimeout(r, 50));
    expect(smsc.binds).toEqual([]);
    await t.send({ id: 'a1', to: '4915112345678', from: 'Ringcast', text: 'hi' });
    expect(smsc.binds).toEqual([{ command: 'bind_transceiver', systemId: 'ringcast', accepted: true }]);
    expect(t.bound).toBe(true);
  });

  it('binds as transmitter when configured', async () => {
    const t = transport({ bindMode: 'transmitter' });
    await t.send({ id: 'a1', to: '4915112345678', from: '', text: 'hi' });
    expect(smsc.binds[0]?.command).toBe('bind_transmitter');
  });

  it('a wrong password is refused: the send fails retryably with ESME_RINVPASWD and nothing is submitted', async () => {
    const t = transport({ password: 'wrong' });
    const error = await sendError(t.send({ id: 'a1', to: '4915112345678', from: '', text: 'hi' }));
    expect(error.message).toMatch(/ESME_RINVPASWD/);
    expect(error.retryable).toBe(true);
    expect(smsc.binds).toEqual([{ command: 'bind_transceiver', systemId: 'ringcast', accepted: false }]);
    expect(smsc.submits).toEqual([]);
    expect(t.bound).toBe(false);
  });
});

describe('SMPP content encoding', () => {
  it('GSM-7 text goes as data_coding 0x00 and the SMSC decodes the same text, extension chars included', async () => {
    const t = transport();
    const text = 'Your code: {42} [ok] ~ € @home £5 ÄÖÜ';
    const result = await t.send({ id: 'g1', to: '4915112345678', from: 'Ringcast', text });
    expect(result).toEqual({ providerMessageIds: ['M1'], segments: 1 });
    const [sub] = smsc.submits;
    expect(sub).toMatchObject({
      destination: '4915112345678',
      source: 'Ringcast',
      sourceTon: 5,
      dataCoding: 0x00,
      esmClass: 0x00,
      registeredDelivery: 1,
      text,
    });
  });

  it('Unicode text goes as UCS-2 (0x08) and the SMSC decodes Grüße 👋 你好 intact', async () => {
    const t = transport();
    const text = 'Grüße 👋 你好';
    await t.send({ id: 'u1', to: '8613800138000', from: '12345', text });
    expect(smsc.submits[0]).toMatchObject({ dataCoding: 0x08, text, sourceTon: 1 });
  });

  it('a long GSM-7 message arrives as numbered concatenated parts with UDHI that reassemble', async () => {
    const t = transport();
    const text = Array.from({ length: 40 }, (_, i) => `line ${i} {ok}`).join(' ');
    const result = await t.send({ id: 'l1', to: '4915112345678', from: 'Ringcast', text });
    const n = countSegments(text);
    expect(n).toBeGreaterThan(2);
    expect(result.segments).toBe(n);
    expect(result.providerMessageIds).toEqual(smsc.submits.map((s) => s.messageId));
    const ref = smsc.submits[0]!.concat!.reference;
    const seqs = Array.from({ length: n }, (_, i) => i + 1);
    expect(smsc.submits.map((s) => s.concat)).toEqual(seqs.map((seq) => ({ reference: ref, total: n, seq })));
    for (const s of smsc.submits) expect(s.esmClass & 0x40).toBe(0x40);
    expect(reassemble(smsc.submits)).toBe(text);
  });

  it('a long Unicode message with emoji arrives as UCS-2 parts that reassemble without broken pairs', async () => {
    const t = transport();
    const text = 'Grüße 👋 你好! '.repeat(12);
    const result = await t.send({ id: 'l2', to: '4915112345678', from: 'Ringcast', text });
    expect(result.segments).toBeGreaterThan(2);
    for (const s of smsc.submits) {
      expect(s.dataCoding).toBe(0x08);
      expect(s.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    expect(reassemble(smsc.submits)).toBe(text);
  });

  it('consecutive long messages use different concatenation references', async () => {
    const t = transport();
    await t.send({ id: 'r1', to: '4915112345678', from: '', text: 'a'.repeat(200) });
    await t.send({ id: 'r2', to: '4915112345678', from: '', text: 'b'.repeat(200) });
    expect(smsc.submits[0]!.concat!.reference).not.toBe(smsc.submits[2]!.concat!.reference);
  });
});

describe('SMPP error mapping', () => {
  it('ESME_RTHROTTLED from the SMSC is a retryable error', async () => {
    const t = transport();
    smsc.respond = () => smpp.errors.ESME_RTHROTTLED!;
    const error = await sendError(t.send({ id: 'e1', to: '4915112345678', from: '', text: 'hi' }));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ESME_RTHROTTLED/);
  });

  it('ESME_RMSGQFUL and ESME_RSYSERR are retryable errors', async () => {
    const t = transport();
    for (const status of [smpp.errors.ESME_RMSGQFUL!, smpp.errors.ESME_RSYSERR!]) {
      smsc.respond = () => status;
      expect(
        (await sendError(t.send({ id: 'e2', to: '4915112345678', from: '', text: 'hi' }))).retryable,
      ).toBe(true);
    }
  });

  it('ESME_RINVDSTADR (invalid destination) is a non-retryable error', async () => {
    const t = transport();
    smsc.respond = () => smpp.errors.ESME_RINVDSTADR!;
    const error = await sendError(t.send({ id: 'e3', to: '4915112345678', from: '', text: 'hi' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/ESME_RINVDSTADR/);
  });

  it('ESME_RINVSRCADR (invalid source) is a non-retryable error', async () => {
    const t = transport();
    smsc.respond = () => smpp.errors.ESME_RINVSRCADR!;
    expect(
      (await sendError(t.send({ id: 'e4', to: '4915112345678', from: 'X', text: 'hi' }))).retryable,
    ).toBe(false);
  });

  it('a destination that is not digits is refused locally as non-retryable', async () => {
    const t = transport();
    expect((await sendError(t.send({ id: 'e5', to: '+49 151', from: '', text: 'hi' }))).retryable).toBe(
      false,
    );
    expect(smsc.binds).toEqual([]);
  });

  it('an unreachable SMSC is a retryable error', async () => {
    const port = smsc.port;
    await smsc.kill();
    const t = transport({ port });
    expect((await sendError(t.send({ id: 'e6', to: '4915112345678', from: '', text: 'hi' }))).retryable).toBe(
      true,
    );
  });

  it('a submit_sm that went out without an answer is not sent again: at most one SMS per attempt (spec §4)', async () => {
    const t = transport({ responseTimeoutMs: 300 });
    await t.send({ id: 'w', to: '4915112345678', from: '', text: 'warm up' });
    for (const s of smsc.sessions) s.removeAllListeners('submit_sm');
    const error = await sendError(t.send({ id: 'e7', to: '4915112345678', from: '', text: 'hi' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/no answer from the SMSC .*timed out.*not sent again/);
  });
});

describe('SMPP reconnect', () => {
  it('after the SMSC is killed and restarted, the transport rebinds and the next send succeeds', async () => {
    const t = transport();
    await t.send({ id: 'k1', to: '4915112345678', from: '', text: 'before' });
    const port = smsc.port;
    await smsc.kill();
    await waitFor(() => !t.bound);
    // While the SMSC is down a send fails, but retryably.
    expect(
      (await sendError(t.send({ id: 'k2', to: '4915112345678', from: '', text: 'down' }))).retryable,
    ).toBe(true);
    await smsc.start(port);
    await waitFor(() => t.bound);
    const result = await t.send({ id: 'k3', to: '4915112345678', from: '', text: 'after' });
    expect(result.providerMessageIds).toEqual([smsc.submits.at(-1)!.messageId]);
    expect(smsc.submits.map((s) => s.text)).toEqual(['before', 'after']);
    expect(smsc.binds.filter((b) => b.accepted).length).toBe(2);
  });

  it('a send issued while the SMSC is restarting waits for the rebind instead of failing', async () => {
    const t = transport({ reconnectInitialMs: 300, reconnectMaxMs: 300 });
    await t.send({ id: 'k1', to: '4915112345678', from: '', text: 'before' });
    const port = smsc.port;
    await smsc.kill();
    await waitFor(() => !t.bound);
    await smsc.start(port);
    const result = await t.send({ id: 'k4', to: '4915112345678', from: '', text: 'queued' });
    expect(result.segments).toBe(1);
    expect(smsc.submits.map((s) => s.text)).toEqual(['before', 'queued']);
  });

  it('an unbind from the SMSC is acknowledged and the transport binds again', async () => {
    const t = transport();
    await t.send({ id: 'k7', to: '4915112345678', from: '', text: 'hi' });
    let unbindAnswered = false;
    smsc.sessions[0]!.send(new smpp.PDU('unbind', {}), () => {
      unbindAnswered = true;
    });
    await waitFor(() => unbindAnswered && smsc.binds.length === 2 && t.bound);
    await t.send({ id: 'k8', to: '4915112345678', from: '', text: 'again' });
    expect(smsc.submits.map((s) => s.text)).toEqual(['hi', 'again']);
  });

  it('close() during a connection attempt fails the waiting send retryably and stops reconnecting', async () => {
    const t = transport();
    const pending = t.send({ id: 'k9', to: '4915112345678', from: '', text: 'hi' });
    await t.close();
    expect((await sendError(pending)).retryable).toBe(true);
    // No attempt under way or scheduled: nothing can bind again (checked on state, not by waiting).
    expect(t.connecting).toBe(false);
    expect(smsc.sessions.length).toBe(0);
  });

  it('enquire_link keepalives are answered and keep the session bound', async () => {
    const t = transport({ enquireLinkMs: 50 });
    let enquiries = 0;
    await t.send({ id: 'k5', to: '4915112345678', from: '', text: 'hi' });
    smsc.sessions[0]!.on('enquire_link', () => enquiries++);
    await waitFor(() => enquiries >= 3);
    expect(t.bound).toBe(true);
  });

  it('an SMSC that stops answering enquire_link is dropped and rebound', async () => {
    const t = transport({ enquireLinkMs: 50, responseTimeoutMs: 200 });
    await t.send({ id: 'k6', to: '4915112345678', from: '', text: 'hi' });
    const first = smsc.sessions[0]!;
    first.removeAllListeners('enquire_link');
    await waitFor(() => smsc.binds.length >= 2 && t.bound);
    expect(smsc.sessions).not.toContain(first);
  });
});

describe('SMPP delivery receipts', () => {
  it('a text delivery receipt reaches onReceipt with the provider id from submit_sm_resp and is acknowledged', async () => {
    const t = transport();
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    const { providerMessageIds } = await t.send({ id: 'd1', to: '4915112345678', from: '', text: 'hi' });
    smsc.sendReceipt(providerMessageIds[0]!, 'DELIVRD');
    await waitFor(() => receipts.length === 1 && smsc.receiptAcks === 1);
    expect(receipts).toEqual([
      { providerMessageId: providerMessageIds[0], delivered: true, status: 'DELIVRD' },
    ]);
  });

  it('an undelivered receipt reports delivered=false with the carrier state', async () => {
    const t = transport();
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    const { providerMessageIds } = await t.send({ id: 'd2', to: '4915112345678', from: '', text: 'hi' });
    smsc.sendReceipt(providerMessageIds[0]!, 'UNDELIV');
    await waitFor(() => receipts.length === 1);
    expect(receipts[0]).toEqual({ providerMessageId: 'M1', delivered: false, status: 'UNDELIV' });
  });

  it('the receipted_message_id TLV wins over a truncated id in the receipt text', async () => {
    const t = transport();
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    await t.send({ id: 'd3', to: '4915112345678', from: '', text: 'hi' });
    smsc.sendReceipt('M1', 'DELIVRD', { tlv: true, textId: 'trunc' });
    await waitFor(() => receipts.length === 1);
    expect(receipts[0]?.providerMessageId).toBe('M1');
  });

  it('each part of a concatenated message gets its own receipt with that part id', async () => {
    const t = transport();
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    const { providerMessageIds } = await t.send({
      id: 'd5',
      to: '4915112345678',
      from: '',
      text: 'x'.repeat(200),
    });
    expect(providerMessageIds.length).toBe(2);
    for (const id of providerMessageIds) smsc.sendReceipt(id, 'DELIVRD');
    await waitFor(() => receipts.length === 2);
    expect(receipts.map((r) => r.providerMessageId)).toEqual(providerMessageIds);
  });

  it('a mobile-originated deliver_sm is acknowledged but not reported as a receipt', async () => {
    const t = transport();
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    await t.send({ id: 'd4', to: '4915112345678', from: '', text: 'hi' });
    let acked = false;
    smsc.sessions[0]!.deliver_sm(
      { source_addr: '4915112345678', esm_class: 0, short_message: 'STOP' },
      () => {
        acked = true;
      },
    );
    await waitFor(() => acked);
    expect(receipts).toEqual([]);
  });
});

describe('SMPP throughput', () => {
  it('throughputPerSecond spaces the submit_sm PDUs', async () => {
    const t = transport({ throughputPerSecond: 20 });
    const started = Date.now();
    await t.send({ id: 'p1', to: '4915112345678', from: '', text: 'a'.repeat(153 * 5) });
    // 5 parts at 20/s: the last one goes no earlier than 4 × 50 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(smsc.submits.length).toBe(5);
  });
});
