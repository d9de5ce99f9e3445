import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimOutcome } from '../../src/telephony/sim/sim-driver.ts';
import type { AccountClient, ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { afterEngineTicks, newAccountClient, numbers, startService, waitFor } from '../helpers/harness.ts';

interface Detail {
  status: number;
  numCnt: number;
  callNum: number;
  success: number;
  fail: number;
  taskName: string;
  text: string;
}

const RING_FOREVER = '7700000001';
const TALK_LONG = '7700000002';
const TALK_LONG_2 = '7700000003';
const timingOverrides: Record<string, Partial<SimOutcome>> = {
  [RING_FOREVER]: { kind: 'answer', ringMs: 500_000 },
  [TALK_LONG]: { kind: 'answer', ringMs: 2000, listenMs: 900_000, key: undefined, keyAtMs: undefined },
  [TALK_LONG_2]: { kind: 'answer', ringMs: 2000, listenMs: 900_000, key: undefined, keyAtMs: undefined },
};

describe('task settings acted on during calls, and task control', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let send: AccountClient['send'];
  const overrides = timingOverrides;

  beforeAll(async () => {
    service = await startService({ clockSpeed: 1000, sim: { seed: 'control', overrides } });
    ({ account, call, send } = await newAccountClient(service, { maxConcurrency: 4, callsPerSecond: 2 }));
  });
  afterAll(async () => service?.close());

  const detail = async (id: number) => (await call<Detail>(`/voice/group/call/detail/${id}`)).data;
  const finished = (id: number) =>
    waitFor(`task ${id} finished`, async () => ((await detail(id)).status === 2 ? detail(id) : null), 60_000);

  it('waits for sendTime and dials only inside allowSendTime (account time zone UTC+8)', async () => {
    const zone = 'UTC+8';
    const now = DateTime.fromMillis(service.clock.now(), { zone });
    const sendAt = now.plus({ minutes: 30 }).startOf('minute');
    const windowStart = now.plus({ hours: 1 }).startOf('hour');
    const windowEnd = windowStart.plus({ hours: 1 });
    const id = await send({
      taskName: 'windows',
      sendTime: sendAt.toFormat('yyyy-MM-dd HH:mm:ss'),
      allowSendTime: [{ strTime: windowStart.toFormat('HH:mm'), endTime: windowEnd.toFormat('HH:mm') }],
      numberList: numbers(6, '3390000'),
    });
    expect((await detail(id)).status).toBe(0);
    await finished(id);
    const times = await service.db.query<{ call_time: Date }>(
      'SELECT call_time FROM calls WHERE task_id = $1',
      [id],
    );
    expect(times).toHaveLength(6);
    for (const { call_time } of times) {
      expect(call_time.getTime()).toBeGreaterThanOrEqual(windowStart.toMillis());
      expect(call_time.getTime()).toBeLessThan(windowEnd.toMillis());
    }
  });

  it("keeps within the account's concurrency and calls-per-second limits", async () => {
    const id = await send({ taskName: 'pacing', numberList: numbers(24, '3391000') });
    let peak = 0;
    while ((await detail(id)).status !== 2) {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE account_id = $1 AND state = 'dialling'",
        [account.accountId],
      );
      peak = Math.max(peak, row!.n);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(4);
    const starts = (
      await service.db.query<{ call_time: Date }>(
        'SELECT call_time FROM calls WHERE task_id = $1 ORDER BY call_time',
        [id],
      )
    ).map((r) => r.call_time.getTime());
    // A bucket of 2 calls/s with a burst of 2: any 5 s of clock time holds at most 2 + 2×5 starts.
    for (let i = 0; i < starts.length; i++) {
      const inWindow = starts.filter((t) => t >= starts[i]! && t < starts[i]! + 5000).length;
      expect(inWindow).toBeLessThanOrEqual(12);
    }
  });

  it('pauses (no new calls), resumes, and cancels (the undialled are never dialled)', async () => {
    const id = await send({ taskName: 'pause me', numberList: numbers(60, '3392000') });
    await waitFor('some calls', async () => (await detail(id)).callNum >= 4);
    expect((await call('/voice/group/call/provisional', { jobIdList: [id] })).status).toBe('0');
    expect((await detail(id)).status).toBe(5);
    await waitFor('in-flight calls to settle', async () => {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
        [id],
      );
      return row!.n === 0;
    });
    const paused = (await detail(id)).callNum;
    await afterEngineTicks(service, 3);
    expect((await detail(id)).callNum).toBe(paused);
    expect(paused).toBeLessThan(60);

    expect((await call('/voice/group/call/update', { keyId: id, text: 'Updated while paused' })).status).toBe(
      '0',
    );
    expect((await detail(id)).text).toBe('Updated while paused');
    expect((await call('/voice/group/call/provisional', { jobIdList: [id] })).status).toBe('-41');
    expect((await call('/voice/group/call/resume', { jobIdList: [id] })).status).toBe('0');
    await waitFor('more calls after resume', async () => (await detail(id)).callNum > paused);
    expect((await call('/voice/group/call/update', { keyId: id, text: 'too late' })).status).toBe('-41');

    expect((await call('/voice/group/call/cancel', { taskIdList: [id] })).status).toBe('0');
    expect((await detail(id)).status).toBe(4);
    await waitFor('in-flight calls to settle', async () => {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
        [id],
      );
      return row!.n === 0;
    });
    const cancelled = (await detail(id)).callNum;
    await afterEngineTicks(service, 3);
    const after = await detail(id);
    expect(after.callNum).toBe(cancelled);
    expect(after.success + after.fail).toBe(cancelled);
    expect((await call('/voice/group/call/resume', { jobIdList: [id] })).status).toBe('-41');
  });

  it('resends all or only the failed numbers of an ended task, -34 when there are none, -41 while running', async () => {
    const list = numbers(12, '3393000');
    const id = await send({ taskName: 'resend source', numberList: list, sendTime: '2030-01-01 00:00:00' });
    const early = await call('/voice/group/call/resend', {
      keyId: id,
      appId: account.appId,
      taskName: 'r0',
      resendType: 0,
    });
    expect(early.status).toBe('-41');
    await call('/voice/group/call/update', { keyId: id, sendTime: '2026-01-01 00:00:00' });
    await finished(id);
    const failed = await service.db.query<{ callee: string }>(
      'SELECT callee FROM calls WHERE task_id = $1 AND call_status <> 50 ORDER BY callee',
      [id],
    );
    const again = await call<number>('/voice/group/call/resend', {
      keyId: id,
      appId: account.appId,
      taskName: 'resend failed',
      resendType: 1,
      text: 'Second try',
    });
    expect(again.status).toBe('0');
    const resent = await service.db.query<{ callee: string }>(
      'SELECT callee FROM calls WHERE task_id = $1 ORDER BY callee',
      [again.data],
    );
    expect(resent).toEqual(failed);
    expect((await detail(again.data)).text).toBe('Second try');
    const all = await call<number>('/voice/group/call/resend', {
      keyId: id,
      appId: account.appId,
      taskName: 'resend all',
      resendType: 0,
    });
    expect((await detail(all.data)).numCnt).toBe(12);

    const answered = await send({
      taskName: 'all answer',
      numberList: [TALK_LONG],
      loopCount: 1,
      maxCalls: 5,
    });
    await finished(answered);
    const none = await call('/voice/group/call/resend', {
      keyId: answered,
      appId: account.appId,
      taskName: 'nothing to resend',
      resendType: 1,
    });
    expect(none.status).toBe('-34');
  });
});

// Durations are measured on the engine clock; a clock only 10x faster than real time keeps the
// measurement honest on a loaded machine (a 0.3 s stall is 3 s of call time, within the bounds).
describe('call timing settings (maxRingingTime, loopCount, maxCalls) on a 10x clock', () => {
  let slow: TestService;
  let slowCall: ApiCall;
  let sendSlow: AccountClient['send'];

  beforeAll(async () => {
    slow = await startService({ clockSpeed: 10, sim: { seed: 'timing', overrides: timingOverrides } });
    ({ call: slowCall, send: sendSlow } = await newAccountClient(slow));
  });
  afterAll(async () => slow?.close());

  const finishedSlow = (id: number) =>
    waitFor(
      `task ${id} finished`,
      async () => (await slowCall<Detail>(`/voice/group/call/detail/${id}`)).data.status === 2,
      60_000,
    );
  const recordSlow = async (taskId: number, callee: string) => {
    const [row] = await slow.db.query<{
      call_status: number;
      ring_duration: number;
      call_duration: number;
      termination_code: number;
    }>('SELECT * FROM calls WHERE task_id = $1 AND callee = $2', [taskId, callee]);
    return row!;
  };

  it('cancels a call not answered within maxRingingTime (callStatus 20, rang that long)', async () => {
    const id = await sendSlow({ taskName: 'ring timeout', maxRingingTime: 20, numberList: [RING_FOREVER] });
    await finishedSlow(id);
    const r = await recordSlow(id, RING_FOREVER);
    expect(r.call_status).toBe(20);
    expect(r.termination_code).toBe(487);
    expect(r.ring_duration).toBeGreaterThanOrEqual(19);
    expect(r.ring_duration).toBeLessThanOrEqual(26);
  });

  it('renders text-to-speech per callee: each hears their own ${text1}', async () => {
    const short = 'Al';
    const long = 'Maximilian Alexander Worthing';
    const id = await sendSlow({
      taskName: 'personal',
      text: 'Hello ${text1}',
      maxCalls: 999,
      numberInfoList: [
        { calleeNumber: TALK_LONG, text1: short },
        { calleeNumber: TALK_LONG_2, text1: long },
      ],
    });
    await finishedSlow(id);
    const [shortAudio, longAudio] = await Promise.all(
      [short, long].map((name) => slow.ring.media.renderTts({ text: `Hello ${name}`, lan: 'en' })),
    );
    expect(longAudio!.durationMs).toBeGreaterThan(shortAudio!.durationMs + 1000);
    const a = await recordSlow(id, TALK_LONG);
    const b = await recordSlow(id, TALK_LONG_2);
    // Each call lasts at least its own message (plus the render time after the answer), and the longer
    // name makes the call longer by about the difference between the two renders.
    expect(a.call_duration).toBeGreaterThanOrEqual(Math.floor(shortAudio!.durationMs / 1000));
    expect(b.call_duration).toBeGreaterThanOrEqual(Math.floor(longAudio!.durationMs / 1000));
    const gap = (longAudio!.durationMs - shortAudio!.durationMs) / 1000;
    expect(b.call_duration - a.call_duration).toBeGreaterThanOrEqual(Math.floor(gap) - 2);
  });

  it('plays the message loopCount times, and ends the call at maxCalls seconds after the answer', async () => {
    const audio = await slow.ring.media.renderTts({ text: 'Hello, this is your reminder.', lan: 'en' });
    const loops = await sendSlow({ taskName: 'loops', loopCount: 3, maxCalls: 999, numberList: [TALK_LONG] });
    await finishedSlow(loops);
    const looped = await recordSlow(loops, TALK_LONG);
    expect(looped.call_status).toBe(50);
    const expected = (3 * audio.durationMs) / 1000;
    expect(looped.call_duration).toBeGreaterThanOrEqual(Math.floor(expected));
    expect(looped.call_duration).toBeLessThanOrEqual(Math.ceil(expected) + 4);

    const capped = await sendSlow({ taskName: 'cap', loopCount: 9, maxCalls: 4, numberList: [TALK_LONG_2] });
    await finishedSlow(capped);
    const cut = await recordSlow(capped, TALK_LONG_2);
    expect(cut.call_duration).toBeGreaterThanOrEqual(4);
    expect(cut.call_duration).toBeLessThanOrEqual(7);
  });
});
