import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setAccountDisabled } from '../../src/db/queries/accounts.ts';
import { calleeInfoSql } from '../../src/db/queries/callee-info.ts';
import { defaultSimOptions, type SimOutcome, simOutcome } from '../../src/telephony/sim/sim-driver.ts';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { newAccountClient, numbers, startService, taskSender, waitFor } from '../helpers/harness.ts';

interface FlowDetail {
  keyId: number;
  taskId: number;
  status: number;
  finishNum: number;
  recallNum: number;
  recallType: number;
  recallInterval: number;
  reason: string | null;
  nodeList: Array<Record<string, unknown> & { keyId: number; taskId: number | null; nodeStatus: number }>;
}

const allAnswer = (list: string[]) => Object.fromEntries(list.map((n) => [n, { kind: 'answer' as const }]));

describe('automatic redial (recall flows)', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let seatGroupId: number;
  const alwaysAnswer = numbers(5, '4477000');
  const simSeed = 'recall';

  beforeAll(async () => {
    service = await startService({
      clockSpeed: 20_000,
      sim: { seed: simSeed, overrides: allAnswer(alwaysAnswer) },
    });
    ({ account, call } = await newAccountClient(service));
    const [group] = await service.db.query<{ id: number }>(
      `INSERT INTO seat_groups (account_id, app_id, group_name, created_at) VALUES ($1, $2, 'sales', now()) RETURNING id`,
      [account.accountId, account.appId],
    );
    seatGroupId = group!.id;
  });
  afterAll(async () => service?.close());

  const send = (body: Record<string, unknown>) =>
    taskSender(call, account.appId, { text: 'Reminder for ${text1}' })(body);
  const flowOf = async (taskId: number) => {
    const page = await call<{ records: Array<{ keyId: number; taskId: number }> }>(
      '/voice/recallFlow/queryPage',
      {
        current: 1,
        size: 10,
        params: { taskName: String(taskId) },
      },
    );
    const flow = page.data.records.find((r) => r.taskId === taskId);
    if (!flow) throw new Error(`no flow for task ${taskId}`);
    return flow.keyId;
  };
  const detail = async (keyId: number) =>
    (await call<FlowDetail>('/voice/recallFlow/queryDetail', { keyId })).data;
  const waitFlow = (keyId: number, status: number) =>
    waitFor(
      `flow ${keyId} status ${status}`,
      async () => {
        const d = await detail(keyId);
        return d.status === status ? d : null;
      },
      60_000,
    );
  const calleesOf = async (taskId: number) =>
    (
      await service.db.query<{
        callee: string;
        call_status: number | null;
        info: Record<string, string> | null;
      }>(
        `SELECT callee, call_status, ${calleeInfoSql()} AS info FROM calls WHERE task_id = $1 ORDER BY seq`,
        [taskId],
      )
    ).map((row) => row);

  it('round-trips every seed field of a node through send → queryDetail', async () => {
    const node = {
      source: 3,
      text: 'Second notice ${text1}',
      lan: 'en',
      speakingRate: 1.5,
      ssmlGender: 1,
      accent: 44,
      hangUpSms: 1,
      smsContent: 'Pay now ${text1}',
      senderId: 'RINGCAST',
      feedbackPush: 1,
      feedbackValue: '1',
      successPush: 1,
      successPushTime: 30,
      failedPush: 1,
      ringPush: 1,
      toSeat: 1,
      sipGroupId: seatGroupId,
      outboundControl: 1,
      calloutRate: 3,
      toSeatType: 2,
      toSeatKey: '9',
      delayTransfer: 5,
    };
    const taskId = await send({
      taskName: 'seed-fields',
      sendTime: '2030-01-01 09:00:00',
      numberInfoList: numbers(3, '5511900').map((n) => ({ calleeNumber: n, text1: 'Ana' })),
      recallFlow: { recallInterval: 45, recallNum: 2, recallType: 1, nodeList: [node] },
    });
    const keyId = await flowOf(taskId);
    const d = await detail(keyId);
    expect(d).toMatchObject({ keyId, recallInterval: 45, recallNum: 2, recallType: 1, status: 0 });
    expect(d.nodeList).toHaveLength(2);
    for (const n of d.nodeList) {
      expect(n.nodeStatus).toBe(0);
      expect(n.taskId).toBeNull();
      expect(typeof n.keyId).toBe('number');
      expect(n).toMatchObject({ ...node, feedbackValue: '1', voiceFileId: null, uploadName: null });
    }
  });

  it('falls back node by node: nodeList[i-1], else the last node given, else the original task', async () => {
    const withTwo = await send({
      taskName: 'fallback-last',
      sendTime: '2030-01-01 09:00:00',
      numberList: numbers(2, '5511901'),
      recallFlow: {
        recallInterval: 10,
        recallNum: 4,
        recallType: 0,
        nodeList: [
          { source: 3, text: 'first', lan: 'es' },
          { source: 3, text: 'second', lan: 'fr', hangUpSms: 0 },
        ],
      },
    });
    const texts = (await detail(await flowOf(withTwo))).nodeList.map((n) => [n.text, n.lan]);
    expect(texts).toEqual([
      ['first', 'es'],
      ['second', 'fr'],
      ['second', 'fr'],
      ['second', 'fr'],
    ]);
    const withNone = await send({
      taskName: 'fallback-original',
      sendTime: '2030-01-01 09:00:00',
      numberList: numbers(2, '5511902'),
      senderId: 'ORIG',
      recallFlow: { recallInterval: 10, recallNum: 2, recallType: 0 },
    });
    for (const n of (await detail(await flowOf(withNone))).nodeList) {
      expect(n).toMatchObject({ text: 'Reminder for ${text1}', lan: 'en', senderId: 'ORIG' });
    }
  });

  it('refuses to update a flow unless it is pending (-41), and applies an update while pending', async () => {
    const taskId = await send({
      taskName: 'update-pending',
      sendTime: '2030-01-01 09:00:00',
      numberList: numbers(2, '5511903'),
      recallFlow: { recallInterval: 10, recallNum: 1, recallType: 0 },
    });
    const keyId = await flowOf(taskId);
    const updated = await call('/voice/recallFlow/update', {
      keyId,
      recallInterval: 90,
      recallNum: 3,
      recallType: 1,
    });
    expect(updated.status).toBe('0');
    expect(await detail(keyId)).toMatchObject({ recallInterval: 90, recallNum: 3, recallType: 1 });
    expect((await detail(keyId)).nodeList).toHaveLength(3);

    const running = await send({
      taskName: 'update-running',
      numberList: numbers(3, '5511904'),
      recallFlow: { recallInterval: 600, recallNum: 1, recallType: 0 },
    });
    const runningKey = await flowOf(running);
    await waitFlow(runningKey, 1);
    const refused = await call('/voice/recallFlow/update', {
      keyId: runningKey,
      recallInterval: 5,
      recallNum: 1,
      recallType: 0,
    });
    expect(refused.status).toBe('-41');
  });

  it('runs rounds with the right callees: recallType 1 re-calls the failed, recallType 0 everyone', async () => {
    const list = numbers(40, '6281200');
    const failedType = await send({
      taskName: 'type-failed',
      numberInfoList: list.map((n, i) => ({ calleeNumber: n, text1: `C${i}` })),
      recallFlow: { recallInterval: 30, recallNum: 2, recallType: 1 },
    });
    const allType = await send({
      taskName: 'type-all',
      numberInfoList: list.map((n, i) => ({ calleeNumber: n, text1: `C${i}` })),
      recallFlow: { recallInterval: 30, recallNum: 2, recallType: 0 },
    });
    const options = { ...defaultSimOptions, seed: simSeed };
    const failed = (outcome: SimOutcome) => outcome.kind !== 'answer';

    const failedFlow = await waitFlow(await flowOf(failedType), 2);
    expect(failedFlow.finishNum).toBe(2);
    let expected = list.filter((n) => failed(simOutcome(options, n, 0)));
    for (const [index, node] of failedFlow.nodeList.entries()) {
      const round = index + 1;
      expect(node.nodeStatus).toBe(2);
      if (expected.length === 0) {
        expect(node.taskId).toBeNull();
        continue;
      }
      const callees = await calleesOf(node.taskId!);
      expect(callees.map((c) => c.callee).sort()).toEqual([...expected].sort());
      // text1..text10 travel with the callee into every round.
      for (const c of callees) expect(c.info?.text1).toBe(`C${list.indexOf(c.callee)}`);
      const records = await service.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM calls c JOIN tasks t ON t.id = c.task_id
         WHERE c.task_id = $1 AND t.source_task_id = $2 AND t.round = $3 AND c.state = 'done'`,
        [node.taskId, failedType, round],
      );
      expect(records[0]!.n).toBe(expected.length);
      expected = expected.filter((n) => failed(simOutcome(options, n, round)));
    }

    const allFlow = await waitFlow(await flowOf(allType), 2);
    for (const node of allFlow.nodeList) {
      expect((await calleesOf(node.taskId!)).map((c) => c.callee).sort()).toEqual([...list].sort());
    }
    // Each round is due exactly recallInterval minutes after the previous round's task finished, and
    // its task is not created before that moment.
    const rounds = await service.db.query<{
      round: number;
      created_at: Date;
      finished_at: Date;
      due_at: Date | null;
    }>(
      `SELECT t.round, t.created_at, t.finished_at, n.due_at FROM tasks t
       LEFT JOIN recall_nodes n ON n.flow_id = t.flow_id AND n.round = t.round
       WHERE t.flow_id = (SELECT flow_id FROM tasks WHERE id = $1) ORDER BY t.round`,
      [allType],
    );
    expect(rounds).toHaveLength(3);
    for (let round = 1; round < rounds.length; round++) {
      const dueAt = rounds[round]!.due_at!.getTime();
      expect(dueAt).toBe(rounds[round - 1]!.finished_at.getTime() + 30 * 60_000);
      expect(rounds[round]!.created_at.getTime()).toBeGreaterThanOrEqual(dueAt);
    }
  });

  it('completes an empty round at once with no task, and every round after it', async () => {
    const taskId = await send({
      taskName: 'empty-round',
      numberList: alwaysAnswer,
      recallFlow: { recallInterval: 5, recallNum: 3, recallType: 1 },
    });
    const flow = await waitFlow(await flowOf(taskId), 2);
    expect(flow.nodeList.map((n) => [n.nodeStatus, n.taskId])).toEqual([
      [2, null],
      [2, null],
      [2, null],
    ]);
    expect(flow.finishNum).toBe(3);
  });

  it('runs a 10-round flow with 1,440-minute intervals to completion in seconds', async () => {
    // Its own service on a clock 200,000 times faster than real time: ten days pass in about four seconds.
    const fast = await startService({ clockSpeed: 200_000, sim: { seed: simSeed } });
    const { send: sendFast } = await newAccountClient(fast);
    const list = numbers(10, '3161200');
    const taskId = await sendFast({
      taskName: 'ten-rounds',
      text: 'hello',
      numberList: list,
      recallFlow: { recallInterval: 1440, recallNum: 10, recallType: 0 },
    });
    const flow = await waitFor(
      'ten rounds',
      async () => {
        const [row] = await fast.db.query<{ status: number; finish_num: number }>(
          'SELECT status, finish_num FROM recall_flows WHERE task_id = $1',
          [taskId],
        );
        return row?.status === 2 ? row : null;
      },
      60_000,
    );
    expect(flow.finish_num).toBe(10);
    const rounds = await fast.db.query<{ round: number; n: number; finished_at: Date }>(
      `SELECT t.round, count(c.id)::int AS n, max(t.finished_at) AS finished_at FROM tasks t
       JOIN calls c ON c.task_id = t.id AND c.state = 'done'
       WHERE t.flow_id = (SELECT flow_id FROM tasks WHERE id = $1) GROUP BY t.round ORDER BY t.round`,
      [taskId],
    );
    expect(rounds.map((r) => [r.round, r.n])).toEqual(Array.from({ length: 11 }, (_, i) => [i, 10]));
    const span = rounds[10]!.finished_at.getTime() - rounds[0]!.finished_at.getTime();
    expect(span).toBeGreaterThanOrEqual(10 * 1440 * 60_000);
    await fast.close();
  }, 120_000);

  it('cancels: types 1 and 2 a pending or running flow, type 3 a pending node and all later ones; an ended flow is -41', async () => {
    const pendingA = await send({
      taskName: 'cancel-1',
      sendTime: '2030-01-01 09:00:00',
      numberList: numbers(2, '5511905'),
      recallFlow: { recallInterval: 10, recallNum: 2, recallType: 0 },
    });
    const keyA = await flowOf(pendingA);
    expect((await call('/voice/recallFlow/cancel', { type: 1, id: keyA })).status).toBe('0');
    expect((await detail(keyA)).status).toBe(3);
    expect((await detail(keyA)).nodeList.every((n) => n.nodeStatus === 3)).toBe(true);

    const pendingB = await send({
      taskName: 'cancel-2',
      sendTime: '2030-01-01 09:00:00',
      numberList: numbers(2, '5511906'),
      recallFlow: { recallInterval: 10, recallNum: 2, recallType: 0 },
    });
    expect((await call('/voice/recallFlow/cancel', { type: 2, id: pendingB })).status).toBe('0');
    expect((await detail(await flowOf(pendingB))).status).toBe(3);

    const running = await send({
      taskName: 'cancel-3',
      numberList: numbers(4, '5511907'),
      recallFlow: { recallInterval: 60, recallNum: 3, recallType: 0 },
    });
    const keyC = await flowOf(running);
    await waitFlow(keyC, 1);
    const nodes = (await detail(keyC)).nodeList;
    expect((await call('/voice/recallFlow/cancel', { type: 3, id: nodes[1]!.keyId })).status).toBe('0');
    const done = await waitFlow(keyC, 2);
    expect(done.nodeList.map((n) => n.nodeStatus)).toEqual([2, 3, 3]);
    expect((await call('/voice/recallFlow/cancel', { type: 3, id: nodes[0]!.keyId })).status).toBe('-41');
    expect((await call('/voice/recallFlow/cancel', { type: 1, id: keyC })).status).toBe('-41');
    expect((await call('/voice/recallFlow/cancel', { type: 2, id: running })).status).toBe('-41');
    expect((await call('/voice/recallFlow/cancel', { type: 3, id: 99_999_999 })).status).toBe('-24');
    expect((await call('/voice/recallFlow/cancel', { type: 1, id: 99_999_999 })).status).toBe('-24');
    // A running flow's cancel (types 1 and 2), and cancelling a round's task through the task API, are
    // tested in stop-means-stop.test.ts, where calls last long enough to be cancelled mid-round.
  });

  it('sets node and flow to execution exception with the reason when a round cannot start', async () => {
    const { account: other, send: sendOther } = await newAccountClient(service);
    const taskId = await sendOther({
      taskName: 'exception',
      text: 'hello',
      numberList: numbers(2, '5511909'),
      recallFlow: { recallInterval: 600, recallNum: 2, recallType: 0 },
    });
    await waitFor('original task to finish', async () => {
      const [row] = await service.db.query<{ flow_closed: boolean }>(
        'SELECT flow_closed FROM tasks WHERE id = $1',
        [taskId],
      );
      return row?.flow_closed;
    });
    await setAccountDisabled(service.db, other.accountId, true);
    const [flow] = await service.db.query<{ id: number }>('SELECT id FROM recall_flows WHERE task_id = $1', [
      taskId,
    ]);
    const failedFlow = await waitFor('flow exception', async () => {
      const [row] = await service.db.query<{ status: number; reason: string | null }>(
        'SELECT status, reason FROM recall_flows WHERE id = $1',
        [flow!.id],
      );
      return row?.status === 4 ? row : null;
    });
    expect(failedFlow.reason).toContain('account disabled');
    const nodes = await service.db.query<{ status: number; reason: string | null }>(
      'SELECT status, reason FROM recall_nodes WHERE flow_id = $1 ORDER BY round',
      [flow!.id],
    );
    expect(nodes[0]).toMatchObject({ status: 4, reason: 'account disabled' });
  });
});
