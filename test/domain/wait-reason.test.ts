import { describe, expect, it } from 'vitest';
import { type WaitFacts, waitOf } from '../../src/domain/wait-reason.ts';

const at = (iso: string) => Date.parse(iso);
const now = at('2026-11-25T10:00:00Z');
const base: WaitFacts = {
  now,
  status: 1,
  sendTime: null,
  windows: [],
  zone: 'UTC',
  hasDue: true,
  account: { inFlight: 0, maxConcurrency: 10, callsPerSecond: 5, tokens: 5, tokensAt: now },
  nextRound: null,
};

describe('why a task waits (waitReason, nextDialAt)', () => {
  it('is null while the task dials, and while only its calls in flight remain', () => {
    expect(waitOf(base)).toEqual({ waitReason: null, nextDialAt: null });
    expect(waitOf({ ...base, hasDue: false, account: { ...base.account, inFlight: 10 } })).toEqual({
      waitReason: null,
      nextDialAt: null,
    });
  });
  it('says paused, and send_time with the sendTime for a task that has not started', () => {
    expect(waitOf({ ...base, status: 5 })).toEqual({ waitReason: 'paused', nextDialAt: null });
    const later = at('2026-11-26T09:00:00Z');
    expect(waitOf({ ...base, status: 0, sendTime: later })).toEqual({
      waitReason: 'send_time',
      nextDialAt: later,
    });
  });
  it('says window with the next opening in the zone, before the account limits', () => {
    const windows = [{ strTime: '20:00', endTime: '21:00' }];
    const full = { ...base.account, inFlight: 10 };
    expect(waitOf({ ...base, windows, zone: 'UTC+8', account: full })).toEqual({
      waitReason: 'window',
      nextDialAt: at('2026-11-25T12:00:00Z'),
    });
  });
  it('says concurrency at the account limit, and cps with the moment a token is back', () => {
    expect(waitOf({ ...base, account: { ...base.account, inFlight: 10 } }).waitReason).toBe('concurrency');
    // 0.5 tokens left at 5 calls/s: one whole token in 100 ms.
    expect(waitOf({ ...base, account: { ...base.account, tokens: 0.5 } })).toEqual({
      waitReason: 'cps',
      nextDialAt: now + 100,
    });
  });
  it("says round_due with the next round's time on an ended task of a running flow", () => {
    const due = at('2026-11-25T11:00:00Z');
    expect(waitOf({ ...base, status: 2, nextRound: { dueAt: due } })).toEqual({
      waitReason: 'round_due',
      nextDialAt: due,
    });
    expect(waitOf({ ...base, status: 2 })).toEqual({ waitReason: null, nextDialAt: null });
  });
});
