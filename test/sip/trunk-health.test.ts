/**
 * Trunk back-off (issue 19): Retry-After pauses new calls, N trunk failures in a row mark the trunk down
 * until an OPTIONS probe is answered. Unit tests on an injected clock; one SIPp test on the wire.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HangupCause } from '../../src/telephony/driver.ts';
import { SipDriver } from '../../src/telephony/sip/sip-driver.ts';
import {
  DEFAULT_TRUNK_HEALTH,
  parseRetryAfter,
  type TrunkClock,
  TrunkHealth,
} from '../../src/telephony/sip/trunk-health.ts';
import { hasTool } from '../helpers/tools.ts';
import { runSipp, waitForPort } from './sipp.ts';

/** A clock the test moves by hand: timers fire only inside `advance`. */
class ManualClock implements TrunkClock {
  at = 1_000_000;
  private timers: Array<{ due: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now = () => this.at;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ due: this.at + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  async advance(ms: number): Promise<void> {
    const end = this.at + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (!next || next.due > end) break;
      this.timers.shift();
      this.at = next.due;
      next.fn();
      // Let promise callbacks (probe results, admitted waiters) run before the next timer.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.at = end;
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

function tracked(p: Promise<boolean>) {
  const s = { settled: false, value: undefined as boolean | undefined };
  void p.then((v) => {
    s.settled = true;
    s.value = v;
  });
  return s;
}

describe('trunk health on an injected clock', () => {
  it('parses Retry-After seconds, ignoring comments and parameters (RFC 3261 §20.33)', () => {
    expect(parseRetryAfter('5')).toBe(5);
    expect(parseRetryAfter('120 (in a meeting);duration=3600')).toBe(120);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('a 503 with Retry-After: 5 holds new calls for exactly 5 s; calls already admitted are not touched', async () => {
    const clock = new ManualClock();
    const health = new TrunkHealth(DEFAULT_TRUNK_HEALTH, async () => 200, undefined, clock);
    expect(await health.admit()).toBe(true);
    health.report({ kind: 'response', status: 503, retryAfterS: 5 });
    expect(health.stats()).toMatchObject({ state: 'paused', pausedUntil: clock.at + 5_000, pauses: 1 });
    const waiting = tracked(health.admit());
    await clock.advance(4_999);
    expect(waiting.settled).toBe(false);
    expect(health.stats().waiting).toBe(1);
    await clock.advance(1);
    expect(waiting).toEqual({ settled: true, value: true });
    expect(health.stats()).toMatchObject({ state: 'open', waiting: 0 });
  });

  it('480 and 486 with Retry-After pause too; a 503 without one does not; the cap bounds a huge value', async () => {
    const clock = new ManualClock();
    const health = new TrunkHealth(
      { ...DEFAULT_TRUNK_HEALTH, maxPauseMs: 60_000 },
      async () => 200,
      undefined,
      clock,
    );
    health.report({ kind: 'response', status: 503 });
    expect(health.state).toBe('open');
    health.report({ kind: 'response', status: 486, retryAfterS: 2 });
    expect(health.stats().pausedUntil).toBe(clock.at + 2_000);
    health.report({ kind: 'response', status: 480, retryAfterS: 86_400 });
    expect(health.stats().pausedUntil).toBe(clock.at + 60_000);
  });

  it('a call cancelled while waiting leaves the queue (admit resolves false)', async () => {
    const clock = new ManualClock();
    const health = new TrunkHealth(DEFAULT_TRUNK_HEALTH, async () => 200, undefined, clock);
    health.report({ kind: 'response', status: 503, retryAfterS: 30 });
    const abort = new AbortController();
    const waiting = tracked(health.admit(abort.signal));
    abort.abort();
    await clock.advance(0);
    expect(waiting).toEqual({ settled: true, value: false });
    expect(health.stats().waiting).toBe(0);
  });

  it('N trunk failures in a row mark it down; OPTIONS probes every interval until one is answered below 500', async () => {
    const clock = new ManualClock();
    const probeAnswers = [503, 408, 200];
    let probes = 0;
    const health = new TrunkHealth(
      { ...DEFAULT_TRUNK_HEALTH, failuresToDown: 3, probeIntervalMs: 10_000 },
      async () => {
        probes++;
        return probeAnswers.shift()!;
      },
      undefined,
      clock,
    );
    health.report({ kind: 'response', status: 500 });
    health.report({ kind: 'timeout' });
    // A busy callee proves the trunk works: the count starts again.
    health.report({ kind: 'response', status: 486 });
    health.report({ kind: 'transport-error' });
    health.report({ kind: 'response', status: 502 });
    expect(health.state).toBe('open');
    health.report({ kind: 'response', status: 503 });
    expect(health.stats()).toMatchObject({ state: 'down', consecutiveFailures: 3, downs: 1 });
    const waiting = tracked(health.admit());
    await clock.advance(9_999);
    expect(probes).toBe(0);
    await clock.advance(1);
    expect(probes).toBe(1);
    await clock.advance(10_000);
    expect(probes).toBe(2);
    expect(waiting.settled).toBe(false);
    await clock.advance(10_000);
    expect(probes).toBe(3);
    expect(waiting).toEqual({ settled: true, value: true });
    expect(health.stats()).toMatchObject({ state: 'open', consecutiveFailures: 0, probes: 3 });
    await clock.advance(60_000);
    expect(probes).toBe(3);
  });
});

const SIP_PORT = 23200;

describe.skipIf(!hasTool('sipp'))('trunk back-off against SIPp', () => {
  let driver: SipDriver | undefined;
  afterEach(async () => {
    await driver?.close();
  });

  it('503 with Retry-After: 5 → the next INVITE to that trunk reaches SIPp at least 5 s later', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'ringcast-retry-after-'));
    const logFile = join(logDir, 'invites.log');
    const sipp = runSipp({
      scenario: 'uas-503-retry-after-5-if-last-digit-1-else-486',
      sipPort: SIP_PORT,
      mediaPort: SIP_PORT + 4,
      controlPort: SIP_PORT + 9,
      calls: 2,
      timeoutS: 60,
      extra: ['-trace_logs', '-log_file', logFile],
    });
    try {
      await waitForPort(SIP_PORT, 'udp');
      const warnings: object[] = [];
      driver = new SipDriver({
        trunkHost: '127.0.0.1',
        trunkPort: SIP_PORT,
        transport: 'udp',
        rtpPortRange: [SIP_PORT + 20, SIP_PORT + 40],
        log: { info: () => {}, warn: (fields) => warnings.push(fields) },
      });
      const dial = (to: string) =>
        new Promise<HangupCause>((resolve) =>
          driver!
            .originate({ callId: to, to, from: '4420000000', ringTimeoutMs: 20_000 })
            .once('hangup', resolve),
        );
      expect(await dial('4470000001')).toEqual({ sipCode: 503, reason: 'unavailable' });
      expect((await driver.stats()).trunk).toMatchObject({ state: 'paused', pauses: 1 });
      expect(warnings).toEqual([expect.objectContaining({ trunk: 'paused', status: 503, retryAfterS: 5 })]);
      const second = dial('4470000002');
      expect(await second).toMatchObject({ sipCode: 486, reason: 'busy' });
      const exit = await sipp.done;
      expect(exit.code, exit.output.slice(-2_000)).toBe(0);
      const ticks = readFileSync(logFile, 'latin1')
        .split('\n')
        .map((line) => /INVITE user=(\d+) at=(\d+)/.exec(line))
        .filter((m) => m !== null)
        .map((m) => ({ user: m[1], at: Number(m[2]) }));
      expect(ticks.map((t) => t.user)).toEqual(['4470000001', '4470000002']);
      const gapMs = ticks[1]!.at - ticks[0]!.at;
      console.info(`[trunk-health] gap between the INVITEs on SIPp's clock: ${gapMs} ms`);
      expect(gapMs).toBeGreaterThanOrEqual(5_000);
    } finally {
      sipp.stop();
      await sipp.done;
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 60_000);
});
