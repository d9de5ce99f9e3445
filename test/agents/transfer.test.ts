import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindRegistration } from '../../src/db/queries/agents.ts';
import type { SimOutcome } from '../../src/telephony/sim/sim-driver.ts';
import type { ApiCall, CallbackReceiver, TestAccount, TestService } from '../helpers/harness.ts';
import { callbackReceiver, newAccountClient, startService, waitFor } from '../helpers/harness.ts';

const AFTER_MESSAGE = '6600000001';
const PRESSES_5 = '6600000002';
const PRESSES_3 = '6600000003';
const NOBODY_FREE = '6600000004';
const FIRST_AGENT_AWAY = '6600000005';

interface Detail {
  status: number;
  success: number;
  toseatNum: number;
  toseatNumRate: number;
  callLossNum: number;
  callLossNumRate: number;
  sipGroupName: string | null;
  receivedSeatNum: number;
  onineSeatNum: number;
}

interface CallRow {
  seat: string | null;
  call_status: number;
  feedback_value: string;
  seat_wait_ms: number | null;
  seat_talk_ms: number | null;
  call_duration: number;
  answer_time: Date;
  hangup_time: Date;
}

describe('transfer to an agent (toSeat=1) on the simulated carrier', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let receiver: CallbackReceiver;
  const pushes: Array<Record<string, unknown>> = [];
  const overrides: Record<string, Partial<SimOutcome>> = {
    [AFTER_MESSAGE]: { kind: 'answer', ringMs: 2000, listenMs: 600_000, key: undefined, keyAtMs: undefined },
    [PRESSES_5]: { kind: 'answer', ringMs: 2000, listenMs: 600_000, key: '5', keyAtMs: 1000 },
    [PRESSES_3]: { kind: 'answer', ringMs: 2000, listenMs: 600_000, key: '3', keyAtMs: 1000 },
    [NOBODY_FREE]: { kind: 'answer', ringMs: 2000, listenMs: 600_000, key: undefined, keyAtMs: undefined },
    [FIRST_AGENT_AWAY]: { kind: 'answer', ringMs: 2000, listenMs: 600_000, key: '1', keyAtMs: 500 },
  };
  const agentTalk = { kind: 'answer', ringMs: 3000, listenMs: 20_000 } as const;

  beforeAll(async () => {
    receiver = await callbackReceiver((body) => {
      if (!Array.isArray(body)) pushes.push(body as Record<string, unknown>);
      return 200;
    });
    service = await startService({ clockSpeed: 20, sim: { seed: 'transfer', overrides } });
    ({ account, call } = await newAccountClient(service, { callbackUrl: receiver.url }));
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  /** A seat group with `count` agents, each registered (or not) and answering like `behaviour`. */
  const group = async (
    name: string,
    count: number,
    register: boolean,
    behaviour: Partial<SimOutcome>[] = [],
  ) => {
    const added = await call<Array<{ account: string }>>('/voice/sipAdd', {
      appId: account.appId,
      groupName: name,
      phoneName: 'agent phone',
      quantity: count,
    });
    expect(added.status).toBe('0');
    const usernames = added.data.map((a) => a.account);
    usernames.forEach((username, i) => {
      overrides[username] = behaviour[i] ?? agentTalk;
    });
    if (register) {
      for (const username of usernames) {
        await bindRegistration(service.db, {
          username,
          contact: `sip:${username}@127.0.0.1:5060`,
          expiresAt: service.clock.now() + 86_400_000,
          now: service.clock.now(),
        });
      }
    }
    const groups = await call<Array<{ voiceGroupId: number; groupName: string }>>('/cc/seatGroup/query', {
      appId: account.appId,
      groupName: name,
    });
    return { id: groups.data[0]!.voiceGroupId, usernames };
  };
  const send = async (name: string, callee: string, body: Record<string, unknown>) => {
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: name,
      source: 3,
      text: 'Hello, this is a message from the service desk about your account.',
      lan: 'en',
      numberList: [callee],
      toSeat: 1,
      ...body,
    });
    expect(sent.status, JSON.stringify(sent)).toBe('0');
    return sent.data;
  };
  const finished = (id: number) =>
    waitFor(
      `task ${id} finished`,
      async () => {
        const d = await call<Detail>(`/voice/group/call/detail/${id}`);
        return d.data.status === 2 ? d.data : null;
      },
      60_000,
    );
  const record = async (taskId: number) =>
    (await service.db.query<CallRow>('SELECT * FROM calls WHERE task_id = $1', [taskId]))[0]!;

  it('toSeatType=1: after the message and delayTransfer, the callee is bridged to an agent; agent, wait and talk recorded', async () => {
    const seats = await group('after-message', 1, true);
    const taskId = await send('type 1', AFTER_MESSAGE, {
      sipGroupId: seats.id,
      toSeatType: 1,
      delayTransfer: 2,
    });
    const detail = await finished(taskId);
    expect(detail).toMatchObject({
      toseatNum: 1,
      toseatNumRate: 100,
      callLossNum: 0,
      sipGroupName: 'after-message',
      receivedSeatNum: 1,
      onineSeatNum: 1,
    });
    const row = await record(taskId);
    expect(row.seat).toBe(seats.usernames[0]);
    expect(row.call_status).toBe(50);
    // the agent's phone rang 3 s before answering; the agent hung up after 20 s of talk
    expect(row.seat_wait_ms).toBeGreaterThanOrEqual(3000);
    expect(row.seat_wait_ms).toBeLessThan(30_000);
    expect(row.seat_talk_ms).toBeGreaterThanOrEqual(19_000);
    expect(row.seat_talk_ms).toBeLessThan(40_000);
    // message (> 2 s) + delayTransfer 2 s + ring 3 s + talk 20 s
    expect(row.call_duration).toBeGreaterThanOrEqual(27);

    const push = await waitFor('agent-ringing push', async () =>
      pushes.find((p) => p.called === AFTER_MESSAGE),
    );
    expect(push).toMatchObject({
      callId: expect.any(String),
      type: 1,
      taskId,
      called: AFTER_MESSAGE,
      calledInfo: '{}',
      seatGroupName: 'after-message',
      sipAccount: seats.usernames[0],
      callinEventTime: expect.any(Number),
    });
    const [agent] = await service.db.query<{ state: string; call_count: number }>(
      'SELECT state, call_count FROM sip_accounts WHERE username = $1',
      [seats.usernames[0]],
    );
    expect(agent).toMatchObject({ state: 'wrapup', call_count: 1 });
  });

  it('toSeatType=2: the toSeatKey press transfers at once (the message is cut); another key does not', async () => {
    const seats = await group('on-key', 1, true);
    // a message of minutes (loopCount 9): a transfer that waited for its end would take far longer
    const pressed = await send('type 2', PRESSES_5, {
      sipGroupId: seats.id,
      toSeatType: 2,
      toSeatKey: '5',
      loopCount: 9,
    });
    const other = await send('type 2 other key', PRESSES_3, {
      sipGroupId: seats.id,
      toSeatType: 2,
      toSeatKey: '5',
    });
    const [d1, d2] = [await finished(pressed), await finished(other)];
    expect(d1).toMatchObject({ toseatNum: 1, callLossNum: 0 });
    expect(d2).toMatchObject({ toseatNum: 0, callLossNum: 0, success: 1 });
    const transferred = await record(pressed);
    expect(transferred.seat).toBe(seats.usernames[0]);
    expect(transferred.feedback_value).toBe('5');
    // key at 1 s, ring 3 s, talk 20 s: the nine loops of the message were cut
    expect(transferred.call_duration).toBeLessThan(60);
    expect((await record(other)).seat).toBeNull();
  });

  it('an agent who does not answer is skipped for the next one of the group', async () => {
    const seats = await group('second-try', 2, true, [{ kind: 'no-answer', ringMs: 100_000 }, agentTalk]);
    await service.db.query('UPDATE seat_groups SET callin_strategy = 4 WHERE id = $1', [seats.id]);
    const taskId = await send('skip away agent', FIRST_AGENT_AWAY, {
      sipGroupId: seats.id,
      toSeatType: 2,
      toSeatKey: '1',
    });
    await finished(taskId);
    expect((await record(taskId)).seat).toBe(seats.usernames[1]);
    const states = await service.db.query<{ username: string; call_count: number }>(
      'SELECT username, call_count FROM sip_accounts WHERE group_id = $1 ORDER BY id',
      [seats.id],
    );
    expect(states.map((s) => s.call_count)).toEqual([0, 1]);
  });

  it('no free agent within the bounded wait: holding message, then hang-up counted as a call loss', async () => {
    // the group's only agent never registered: it must never be offered the call
    const seats = await group('nobody-home', 1, false);
    const taskId = await send('call loss', NOBODY_FREE, { sipGroupId: seats.id, toSeatType: 1 });
    const detail = await finished(taskId);
    expect(detail).toMatchObject({ toseatNum: 0, callLossNum: 1, callLossNumRate: 100, success: 1 });
    const row = await record(taskId);
    expect(row.seat).toBeNull();
    // the message, 30 s of waiting, then the holding message
    expect(row.call_duration).toBeGreaterThanOrEqual(32);
    expect(pushes.some((p) => p.called === NOBODY_FREE)).toBe(false);
    const [agent] = await service.db.query<{ call_count: number; state: string }>(
      'SELECT call_count, state FROM sip_accounts WHERE username = $1',
      [seats.usernames[0]],
    );
    expect(agent).toMatchObject({ call_count: 0, state: 'offline' });
  });
});
