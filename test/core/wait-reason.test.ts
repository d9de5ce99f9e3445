/**
 * [ours] `waitReason` and `nextDialAt` in task detail and query: every cause a task can wait for, read
 * through the API while the engine runs (real clock, so calls stay in flight and windows stay shut).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../helpers/harness.ts';
import { newAccountClient, numbers, startService, taskSender, waitFor } from '../helpers/harness.ts';

/** Numbers whose calls ring for ten minutes: they stay in flight for the whole test. */
const ringing = numbers(20, '4430100');
const quick = numbers(1, '4430200');

interface Detail {
  status: number;
  waitReason: string | null;
  nextDialAt: string | null;
}

describe('waitReason: why a task is not dialling', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({
      clockSpeed: 1,
      config: { engine: { shutdownGraceMs: 200 } },
      sim: {
        overrides: {
          ...Object.fromEntries(ringing.map((n) => [n, { kind: 'no-answer' as const, ringMs: 600_000 }])),
          [quick[0]!]: { kind: 'answer' as const, ringMs: 10, listenMs: 10 },
        },
      },
    });
  });
  afterAll(async () => service?.close());

  const client = async (limits: { maxConcurrency: number; callsPerSecond: number }) => {
    const { account, call } = await newAccountClient(service, { timeZone: 'UTC+8', ...limits });
    const detail = async (id: number) => (await call<Detail>(`/voice/group/call/detail/${id}`)).data;
    return { call, detail, send: taskSender(call, account.appId) };
  };

  it('send_time, then paused; window with the next opening in the account zone', async () => {
    const { call, detail, send } = await client({ maxConcurrency: 10, callsPerSecond: 10 });
    // The test clock starts at 2026-11-25 10:00 in UTC+8.
    const later = await send({
      taskName: 'later',
      sendTime: '2026-11-26 09:00:00',
      numberList: ringing.slice(0, 1),
    });
    expect(await detail(later)).toMatchObject({
      status: 0,
      waitReason: 'send_time',
      nextDialAt: '2026-11-26 09:00:00',
    });
    expect((await call('/voice/group/call/provisional', { jobIdList: [later] })).status).toBe('0');
    expect(await detail(later)).toMatchObject({ status: 5, waitReason: 'paused', nextDialAt: null });

    const evening = await send({
      taskName: 'evening',
      allowSendTime: [{ strTime: '20:00', endTime: '21:00' }],
      numberList: ringing.slice(1, 2),
    });
    await waitFor('started', async () => (await detail(evening)).status === 1);
    expect(await detail(evening)).toMatchObject({ waitReason: 'window', nextDialAt: '2026-11-25 20:00:00' });
    const page = await call<{ records: Array<{ taskId: number; waitReason: string | null }> }>(
      '/voice/group/call/query',
      { current: 1, size: 10 },
    );
    expect(page.data.records.find((r) => r.taskId === evening)?.waitReason).toBe('window');
    expect(page.data.records.find((r) => r.taskId === later)?.waitReason).toBe('paused');
  });

  it('null while dialling; concurrency once the account limit is in flight', async () => {
    const { detail, send } = await client({ maxConcurrency: 2, callsPerSecond: 100 });
    const both = await send({ taskName: 'two', maxRingingTime: 120, numberList: ringing.slice(2, 4) });
    await waitFor('both in flight', async () => {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
        [both],
      );
      return row!.n === 2;
    });
    expect(await detail(both)).toMatchObject({ status: 1, waitReason: null, nextDialAt: null });
    const third = await send({ taskName: 'third', maxRingingTime: 120, numberList: ringing.slice(4, 5) });
    await waitFor('started', async () => (await detail(third)).status === 1);
    expect(await detail(third)).toMatchObject({ waitReason: 'concurrency', nextDialAt: null });
  });

  it('cps with the moment the next call may start', async () => {
    const { detail, send } = await client({ maxConcurrency: 50, callsPerSecond: 0.01 });
    const slow = await send({ taskName: 'slow', maxRingingTime: 120, numberList: ringing.slice(5, 7) });
    await waitFor('first call leased', async () => {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
        [slow],
      );
      return row!.n === 1;
    });
    const seen = await detail(slow);
    expect(seen.waitReason).toBe('cps');
    // One call per 100 s: the next one is 90-100 s away.
    const next = Date.parse(`${seen.nextDialAt!.replace(' ', 'T')}+08:00`);
    expect(next - service.clock.now()).toBeGreaterThan(90_000);
    expect(next - service.clock.now()).toBeLessThanOrEqual(100_000);
  });

  it('round_due with the next round time once the task ended', async () => {
    const { detail, send } = await client({ maxConcurrency: 10, callsPerSecond: 10 });
    const id = await send({
      taskName: 'with rounds',
      numberList: quick,
      recallFlow: { recallInterval: 60, recallNum: 1, recallType: 0 },
    });
    const ended = await waitFor('ended and round scheduled', async () => {
      const d = await detail(id);
      return d.status === 2 && d.nextDialAt ? d : null;
    });
    expect(ended.waitReason).toBe('round_due');
    const [row] = await service.db.query<{ due_at: Date; finished_at: Date }>(
      `SELECT n.due_at, t.finished_at FROM recall_nodes n JOIN tasks t ON t.flow_id = n.flow_id
       WHERE t.id = $1 AND n.round = 1`,
      [id],
    );
    expect(row!.due_at.getTime()).toBe(row!.finished_at.getTime() + 60 * 60_000);
    const expected = new Date(row!.due_at.getTime() + 8 * 3600_000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    expect(ended.nextDialAt).toBe(expected);
  });
});
