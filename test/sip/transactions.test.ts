import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeResponse, type SipResponse } from '../../src/telephony/sip/message.ts';
import { DEFAULT_TIMERS } from '../../src/telephony/sip/timers.ts';
import {
  InviteClientTransaction,
  NonInviteClientTransaction,
} from '../../src/telephony/sip/transaction-client.ts';
import { FakeTransport, INVITE_TEXT, req } from './helpers.ts';

const remote = { host: '127.0.0.1', port: 5060 };

function tu() {
  return {
    responses: [] as SipResponse[],
    timeouts: 0,
    errors: 0,
    onResponse(r: SipResponse) {
      this.responses.push(r);
    },
    onTimeout() {
      this.timeouts++;
    },
    onTransportError() {
      this.errors++;
    },
  };
}

const OPTIONS_TEXT = INVITE_TEXT.replace(/INVITE/g, 'OPTIONS');

describe('RFC 3261 §17.1 client transactions', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('INVITE over UDP: Timer A retransmits at T1, 2T1, 4T1… and Timer B (64·T1) reports a timeout', () => {
    const t = new FakeTransport();
    const user = tu();
    const start = Date.now();
    new InviteClientTransaction(req(INVITE_TEXT), remote, t, user, DEFAULT_TIMERS);
    vi.advanceTimersByTime(32_000 - 1);
    expect(t.sent.map((s) => s.at - start)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(user.timeouts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(user.timeouts).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(t.sent).toHaveLength(7);
  });

  it('INVITE over TCP: MUST NOT retransmit, Timer B still fires', () => {
    const t = new FakeTransport(true);
    const user = tu();
    new InviteClientTransaction(req(INVITE_TEXT), remote, t, user, DEFAULT_TIMERS);
    vi.advanceTimersByTime(32_000);
    expect(t.sent).toHaveLength(1);
    expect(user.timeouts).toBe(1);
  });

  it('a provisional response stops Timer A and Timer B (Proceeding)', () => {
    const t = new FakeTransport();
    const user = tu();
    const r = req(INVITE_TEXT);
    const tx = new InviteClientTransaction(r, remote, t, user, DEFAULT_TIMERS);
    vi.advanceTimersByTime(600);
    tx.receive(makeResponse(r, 180, 'x'));
    vi.advanceTimersByTime(100_000);
    expect(t.sent).toHaveLength(2);
    expect(user.timeouts).toBe(0);
    expect(tx.current).toBe('proceeding');
  });

  it('MUST generate an ACK for a non-2xx final response, re-send it for retransmissions, and pass only the first up (§17.1.1.3)', () => {
    const t = new FakeTransport();
    const user = tu();
    const r = req(INVITE_TEXT);
    const tx = new InviteClientTransaction(r, remote, t, user, DEFAULT_TIMERS);
    const busy = makeResponse(r, 486, 'x');
    tx.receive(busy);
    tx.receive(busy);
    const acks = t.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK');
    expect(acks).toHaveLength(2);
    const ack = acks[0]!.message;
    expect(ack.headers.get('via')).toBe(r.headers.get('via'));
    expect(ack.headers.get('cseq')).toBe('1 ACK');
    expect(ack.headers.get('to')).toContain('tag=x');
    expect(user.responses).toHaveLength(1);
    // Timer D: 32 s on UDP, then Terminated.
    vi.advanceTimersByTime(31_999);
    expect(tx.current).toBe('completed');
    vi.advanceTimersByTime(1);
    expect(tx.current).toBe('terminated');
  });

  it('Timer D is zero over a reliable transport', () => {
    const t = new FakeTransport(true);
    const r = req(INVITE_TEXT);
    const tx = new InviteClientTransaction(r, remote, t, tu(), DEFAULT_TIMERS);
    tx.receive(makeResponse(r, 503, 'x'));
    vi.advanceTimersByTime(0);
    expect(tx.current).toBe('terminated');
  });

  it('2xx retransmissions reach the TU in Accepted so it can re-ACK (RFC 6026)', () => {
    const t = new FakeTransport();
    const user = tu();
    const r = req(INVITE_TEXT);
    const tx = new InviteClientTransaction(r, remote, t, user, DEFAULT_TIMERS);
    const ok = makeResponse(r, 200, 'x');
    tx.receive(ok);
    tx.receive(ok);
    expect(user.responses).toHaveLength(2);
    expect(t.sent.filter((s) => s.message.kind === 'request' && s.message.method === 'ACK')).toHaveLength(0);
  });

  it('non-INVITE over UDP: Timer E doubles up to T2, Timer F (64·T1) times out', () => {
    const t = new FakeTransport();
    const user = tu();
    const start = Date.now();
    new NonInviteClientTransaction(req(OPTIONS_TEXT), remote, t, user, DEFAULT_TIMERS);
    vi.advanceTimersByTime(32_000);
    expect(t.sent.map((s) => s.at - start)).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
    expect(user.timeouts).toBe(1);
  });

  it('non-INVITE in Proceeding retransmits every T2 and Timer F still applies', () => {
    const t = new FakeTransport();
    const user = tu();
    const r = req(OPTIONS_TEXT);
    const start = Date.now();
    const tx = new NonInviteClientTransaction(r, remote, t, user, DEFAULT_TIMERS);
    vi.advanceTimersByTime(100);
    tx.receive(makeResponse(r, 100));
    vi.advanceTimersByTime(32_000);
    expect(t.sent.map((s) => s.at - start)).toEqual([0, 4100, 8100, 12100, 16100, 20100, 24100, 28100]);
    expect(user.timeouts).toBe(1);
  });

  it('Timer K absorbs final-response retransmissions for T4 on UDP, zero on TCP', () => {
    const t = new FakeTransport();
    const user = tu();
    const r = req(OPTIONS_TEXT);
    const tx = new NonInviteClientTransaction(r, remote, t, user, DEFAULT_TIMERS);
    const ok = makeResponse(r, 200, 'x');
    tx.receive(ok);
    tx.receive(ok);
    expect(user.responses).toHaveLength(1);
    vi.advanceTimersByTime(4_999);
    expect(tx.current).toBe('completed');
    vi.advanceTimersByTime(1);
    expect(tx.current).toBe('terminated');
    const tcp = new NonInviteClientTransaction(r, remote, new FakeTransport(true), tu(), DEFAULT_TIMERS);
    tcp.receive(ok);
    vi.advanceTimersByTime(0);
    expect(tcp.current).toBe('terminated');
  });

  it('a transport error is reported to the TU and ends the transaction (§17.1.4)', async () => {
    const t = new FakeTransport();
    t.failSends = true;
    const user = tu();
    const tx = new InviteClientTransaction(req(INVITE_TEXT), remote, t, user, DEFAULT_TIMERS);
    await vi.advanceTimersByTimeAsync(0);
    expect(user.errors).toBe(1);
    expect(tx.current).toBe('terminated');
  });
});
