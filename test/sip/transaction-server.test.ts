/** The server-transaction table shared by the UA core and the registrar (RFC 3261 §17.2). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeResponse } from '../../src/telephony/sip/message.ts';
import { ServerTransactions } from '../../src/telephony/sip/transaction-server.ts';
import { FakeTransport, INVITE_TEXT, req } from './helpers.ts';

const remote = { host: '127.0.0.1', port: 5099 };
const OPTIONS = INVITE_TEXT.replace(/INVITE/g, 'OPTIONS').replace('z9hG4bKtest1', 'z9hG4bKopt1');

describe('server transactions', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a retransmission is absorbed while the TU works (trying), then gets the same final response again (completed) until 64·T1', () => {
    vi.useFakeTimers();
    const transport = new FakeTransport();
    const table = new ServerTransactions(transport, { T1: 500, T2: 4000, T4: 5000 });
    const request = req(OPTIONS);
    expect(table.absorb(request, remote)).toBe(false);
    expect(table.begin(request, remote)).toBe(true);
    expect(table.absorb(req(OPTIONS), remote)).toBe(true);
    expect(transport.sent).toHaveLength(0);
    const ok = makeResponse(request, 200, 'tag1');
    table.respond(request, remote, ok);
    expect(transport.sent).toHaveLength(1);
    expect(table.absorb(req(OPTIONS), remote)).toBe(true);
    expect(transport.sent.map((s) => s.message)).toEqual([ok, ok]);
    vi.advanceTimersByTime(64 * 500 - 1);
    expect(table.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(table.size).toBe(0);
    expect(table.absorb(req(OPTIONS), remote)).toBe(false);
  });

  it('a request whose TU never answered is dropped (abandon), and the table is bounded', () => {
    const transport = new FakeTransport();
    const table = new ServerTransactions(transport, { T1: 500, T2: 4000, T4: 5000 }, 1);
    const request = req(OPTIONS);
    expect(table.begin(request, remote)).toBe(true);
    expect(table.begin(req(INVITE_TEXT), remote)).toBe(false);
    table.abandon(request);
    expect(table.size).toBe(0);
  });
});
