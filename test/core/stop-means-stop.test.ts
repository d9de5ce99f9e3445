/**
 * Spec §6 [ours] "Stop means stop": once a cancel has returned, nobody of that task, and nobody of any
 * later round of its recall flow, is dialled. Dials are counted at the carrier, and the "nothing more"
 * checks wait on engine ticks past the moment the next rounds would have been due.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchLeased, leaseCalls } from '../../src/db/queries/lease-calls.ts';
import { startDueTasks } from '../../src/db/queries/tasks.ts';
import type { CallLeg, OriginateRequest, TelephonyDriver } from '../../src/telephony/driver.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from '../helpers/counting-sim.ts';
import type { AccountClient, ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { afterEngineTicks, newAccountClient, numbers, startService, waitFor } from '../helpers/harness.ts';

interface FlowDetail {
  keyId: number;
  status: number;
  nodeList: Array<{ keyId: number; taskId: number | null; nodeStatus: number }>;
}

describe('stop means stop: a cancel ends the task and every later round', () => {
  let service: TestService;
  let carrier: CountingSim;
  let call: ApiCall;
  let send: AccountClient['send'];

  beforeAll(async () => {
    service = await startService({
      clockSpeed: 1000,
      driver: (clock) => {
        // Calls of half a minute or more (30+ ms real): a task of 100+ numbers at 8 at a time is still
        // running when the test cancels it, however loaded the machine is.
        carrier = new CountingSim(
          new SimDriver(clock, { seed: 'stop', ringMs: [30_000, 50_000], listenMs: [30_000, 90_000] }),
        );
        return carrier;
      },
    });
    ({ call, send } = await newAccountClient(service, { maxConcurrency: 8, callsPerSecond: 40 }));
  });
  afterAll(async () => service?.close());

  const flowOf = async (taskId: number): Promise<number> => {
    const [row] = await service.db.query<{ id: number }>('SELECT id FROM recall_flows WHERE task_id = $1', [
      taskId,
    ]);
    return row!.id;
  };
  const flowDetail = async (keyId: number) =>
    (await call<FlowDetail>('/voice/recallFlow/queryDetail', { keyId })).data;
  /** Tasks of the flow (the original and every round's). */
  const flowTasks = async (flowId: number) =>
    (
      await service.db.query<{ id: number }>('SELECT id FROM tasks WHERE flow_id = $1 ORDER BY id', [flowId])
    ).map((row) => row.id);
  /** Carrier dials (positions in the carrier's log from `from` on) that belong to `taskIds`. */
  const dialsOf = async (taskIds: number[], from = 0) => {
    const ids = carrier.dialled.slice(from).map(Number);
    if (ids.length === 0) return 0;
    const [row] = await service.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM calls WHERE id = ANY($1::int[]) AND task_id = ANY($2::int[])',
      [ids, taskIds],
    );
    return row!.n;
  };
  /**
   * Waits until the flow is cancelled with nothing of it in flight, then until the clock is well past the
   * moment every remaining round would have been due, and a few engine ticks more.
   */
  const quietAfterCancel = async (flowId: number, roundsSpanMs: number) => {
    await waitFor('flow cancelled and its calls settled', async () => {
      const [row] = await service.db.query<{ status: number; dialling: number }>(
        `SELECT f.status, (SELECT count(*)::int FROM calls c JOIN tasks t ON t.id = c.task_id
           WHERE t.flow_id = f.id AND c.state = 'dialling') AS dialling FROM recall_flows f WHERE f.id = $1`,
        [flowId],
      );
      return row?.status === 3 && row.dialling === 0;
    });
    const until = service.clock.now() + roundsSpanMs;
    await waitFor('the would-be rounds to come due', async () => service.clock.now() > until);
    await afterEngineTicks(service, 3);
  };

  it('cancelling the original task while it dials leaves 0 dials afterwards, in it and in every round', async () => {
    const taskId = await send({
      taskName: 'stop original',
      numberList: numbers(200, '4420701'),
      recallFlow: { recallInterval: 1, recallNum: 3, recallType: 0 },
    });
    const flowId = await flowOf(taskId);
    await waitFor('20 dials', async () => (await dialsOf([taskId])) >= 20);
    expect((await call('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('0');
    const mark = carrier.dialled.length;
    const flow = await flowDetail(flowId);
    expect(flow.status).toBe(3);
    expect(flow.nodeList.map((node) => node.nodeStatus)).toEqual([3, 3, 3]);
    await quietAfterCancel(flowId, 10 * 60_000);
    expect(carrier.dialled.length).toBe(mark);
    expect(await flowTasks(flowId)).toEqual([taskId]);
    // Everyone dialled has exactly one record; everyone else was dropped without a call.
    const states = await service.db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM calls WHERE task_id = $1 GROUP BY state ORDER BY state',
      [taskId],
    );
    const dialled = await dialsOf([taskId]);
    expect(states).toEqual([
      { state: 'cancelled', n: 200 - dialled },
      { state: 'done', n: dialled },
    ]);
  });

  it("cancelling a round's task leaves 0 dials afterwards, and the later rounds never start", async () => {
    const taskId = await send({
      taskName: 'stop round',
      numberList: numbers(120, '4420702'),
      recallFlow: { recallInterval: 1, recallNum: 3, recallType: 0 },
    });
    const flowId = await flowOf(taskId);
    const roundOne = await waitFor(
      'round 1 dialling',
      async () => {
        const task = (await flowDetail(flowId)).nodeList[0]!.taskId;
        return task !== null && (await dialsOf([task])) >= 10 ? task : null;
      },
      60_000,
    );
    expect((await call('/voice/group/call/cancel', { taskIdList: [roundOne] })).status).toBe('0');
    const mark = carrier.dialled.length;
    const flow = await flowDetail(flowId);
    expect(flow.status).toBe(3);
    expect(flow.nodeList.map((node) => node.nodeStatus)).toEqual([3, 3, 3]);
    await quietAfterCancel(flowId, 10 * 60_000);
    expect(carrier.dialled.length).toBe(mark);
    expect(await flowTasks(flowId)).toEqual([taskId, roundOne]);
  });

  for (const type of [1, 2] as const) {
    it(`flow cancel type ${type} on a running flow cancels its running task: 0 dials afterwards`, async () => {
      const taskId = await send({
        taskName: `stop flow type ${type}`,
        numberList: numbers(150, `442070${3 + type}`),
        recallFlow: { recallInterval: 1, recallNum: 2, recallType: 0 },
      });
      const flowId = await flowOf(taskId);
      await waitFor('10 dials', async () => (await dialsOf([taskId])) >= 10);
      const id = type === 1 ? flowId : taskId;
      expect((await call('/voice/recallFlow/cancel', { type, id })).status).toBe('0');
      const mark = carrier.dialled.length;
      expect((await call<{ status: number }>(`/voice/group/call/detail/${taskId}`)).data.status).toBe(4);
      await quietAfterCancel(flowId, 10 * 60_000);
      expect(carrier.dialled.length).toBe(mark);
      expect(await flowTasks(flowId)).toEqual([taskId]);
      // Cancelling again: the flow has ended.
      expect((await call('/voice/recallFlow/cancel', { type, id })).status).toBe('-41');
    });
  }

  it('flow cancel between rounds: the next round never starts', async () => {
    const taskId = await send({
      taskName: 'stop between rounds',
      numberList: numbers(6, '4420707'),
      recallFlow: { recallInterval: 30, recallNum: 2, recallType: 0 },
    });
    const flowId = await flowOf(taskId);
    await waitFor('round 1 due', async () => {
      const [row] = await service.db.query<{ due_at: Date | null }>(
        'SELECT due_at FROM recall_nodes WHERE flow_id = $1 AND round = 1',
        [flowId],
      );
      return row?.due_at ?? null;
    });
    expect((await call('/voice/recallFlow/cancel', { type: 1, id: flowId })).status).toBe('0');
    const mark = carrier.dialled.length;
    await quietAfterCancel(flowId, 90 * 60_000);
    expect(carrier.dialled.length).toBe(mark);
    expect(await flowTasks(flowId)).toEqual([taskId]);
  });

  it('cancels racing the dialer: no task is dialled after its cancel returned', async () => {
    const tasks: number[] = [];
    for (let i = 0; i < 10; i++) {
      tasks.push(
        await send({
          taskName: `race ${i}`,
          // 120 numbers sharing 8 lines with nine other tasks: each is still running when its turn to be
          // cancelled comes (after at most 24 of its own dials), however slow the test loop is.
          numberList: numbers(120, `44207${10 + i}`),
          recallFlow: { recallInterval: 1, recallNum: 2, recallType: 0 },
        }),
      );
    }
    const marks = new Map<number, number>();
    for (const [i, taskId] of tasks.entries()) {
      // Cancel each after a different number of its own dials: some before any, some mid-way.
      await waitFor('dials before cancel', async () => (await dialsOf([taskId])) >= (i * 3) % 25);
      expect((await call('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('0');
      marks.set(taskId, carrier.dialled.length);
    }
    for (const taskId of tasks) await quietAfterCancel(await flowOf(taskId), 5 * 60_000);
    for (const taskId of tasks) {
      const all = await flowTasks(await flowOf(taskId));
      expect(await dialsOf(all, marks.get(taskId)!)).toBe(0);
    }
  });
});

describe('calls leased but not yet handed to the carrier when the task stops', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let send: AccountClient['send'];
  beforeAll(async () => {
    service = await startService({ start: false });
    ({ account, call, send } = await newAccountClient(service));
  });
  afterAll(async () => service?.close());

  const leaseOne = async (name: string, prefix: string) => {
    const taskId = await send({ taskName: name, numberList: numbers(5, prefix) });
    await startDueTasks(service.db, service.clock.now());
    const lease = await leaseCalls(service.db, {
      accountId: account.accountId,
      owner: 'run-a',
      now: service.clock.now(),
      leaseMs: 60_000,
      max: 3,
    });
    expect(lease.calls.map((c) => c.task_id)).toEqual([taskId, taskId, taskId]);
    return { taskId, calls: lease.calls };
  };
  const statesOf = async (taskId: number) =>
    (
      await service.db.query<{ state: string; lease_owner: string | null }>(
        'SELECT state, lease_owner FROM calls WHERE task_id = $1 ORDER BY seq',
        [taskId],
      )
    ).map((row) => `${row.state}${row.lease_owner ? `:${row.lease_owner}` : ''}`);

  /** Hands leased calls to the carrier as run `owner` would: how many went, and which. */
  const dispatchAs = async (owner: string, calls: Parameters<typeof dispatchLeased>[1]['calls']) => {
    const sent: number[] = [];
    const dispatched = await dispatchLeased(
      service.db,
      { owner, accountId: account.accountId, now: service.clock.now(), calls },
      (c) => sent.push(c.id),
    );
    return { dispatched, sent };
  };

  it('are never dialled after a cancel: they end cancelled, with no record', async () => {
    const { taskId, calls } = await leaseOne('leased then cancelled', '4420801');
    expect((await call('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('0');
    const { dispatched, sent } = await dispatchAs('run-a', calls);
    expect(dispatched).toBe(0);
    expect(sent).toEqual([]);
    expect(await statesOf(taskId)).toEqual(Array(5).fill('cancelled'));
  });

  it('go back to the queue after a pause, and are dialled once resumed', async () => {
    const { taskId, calls } = await leaseOne('leased then paused', '4420802');
    expect((await call('/voice/group/call/provisional', { jobIdList: [taskId] })).status).toBe('0');
    const paused = await dispatchAs('run-a', calls);
    expect(paused.dispatched).toBe(0);
    expect(await statesOf(taskId)).toEqual(Array(5).fill('due'));
    expect((await call('/voice/group/call/resume', { jobIdList: [taskId] })).status).toBe('0');
    await startDueTasks(service.db, service.clock.now());
    const again = await leaseCalls(service.db, {
      accountId: account.accountId,
      owner: 'run-b',
      now: service.clock.now(),
      leaseMs: 60_000,
      max: 10,
    });
    expect(again.calls.map((c) => c.id).sort()).toEqual(
      (await service.db.query<{ id: number }>('SELECT id FROM calls WHERE task_id = $1', [taskId]))
        .map((row) => row.id)
        .sort(),
    );
    const resumed = await dispatchAs('run-b', again.calls);
    expect(resumed.dispatched).toBe(5);
    expect([...paused.sent, ...resumed.sent]).toHaveLength(5);
  });
});

/** A carrier whose driver throws on every 7th originate (a trunk refusing synchronously). */
class FlakyDriver implements TelephonyDriver {
  readonly name = 'flaky';
  readonly timing = 'clock' as const;
  private count = 0;
  readonly placed: string[] = [];
  constructor(private readonly inner: SimDriver) {}
  originate(request: OriginateRequest): CallLeg {
    this.count++;
    if (this.count % 7 === 0) throw new Error('trunk refused the call');
    this.placed.push(request.callId);
    return this.inner.originate(request);
  }
  close() {
    return this.inner.close();
  }
}

describe('a driver that throws in originate', () => {
  let service: TestService;
  let driver: FlakyDriver;
  afterAll(async () => service?.close());

  it('records those attempts as failed (callStatus 60 with the reason), and the rest of the batch and the task go on', async () => {
    service = await startService({
      clockSpeed: 1000,
      driver: (clock) => {
        driver = new FlakyDriver(new SimDriver(clock, { seed: 'flaky' }));
        return driver;
      },
    });
    const { call, send } = await newAccountClient(service, { maxConcurrency: 20, callsPerSecond: 1000 });
    const taskId = await send({ taskName: 'flaky', numberList: numbers(70, '4420901') });
    await waitFor('task finished', async () => {
      const detail = await call<{ status: number }>(`/voice/group/call/detail/${taskId}`);
      return detail.data.status === 2;
    });
    const rows = await service.db.query<{ id: number; state: string; call_status: number; reason: string }>(
      'SELECT id, state, call_status, termination_reason AS reason FROM calls WHERE task_id = $1',
      [taskId],
    );
    expect(rows).toHaveLength(70);
    expect(rows.filter((row) => row.state !== 'done')).toEqual([]);
    const refused = rows.filter((row) => row.reason === 'dial-failed: trunk refused the call');
    expect(refused).toHaveLength(10);
    expect(refused.every((row) => row.call_status === 60)).toBe(true);
    expect(driver.placed).toHaveLength(60);
    expect(new Set(driver.placed).size).toBe(60);
    for (const row of refused) expect(driver.placed).not.toContain(String(row.id));
  });
});
