import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindRegistration, unbindRegistration } from '../../src/db/queries/agents.ts';
import { proportionalLimit } from '../../src/domain/pacing.ts';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { newAccountClient, numbers, startService, waitFor } from '../helpers/harness.ts';

const CALLOUT_RATE = 2;

describe('proportional outbound (outboundControl=1) on the simulated carrier', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let agents: string[];
  let groupId: number;
  let taskId: number;

  beforeAll(async () => {
    // Every callee answers after 1-2 s and listens long; the call ends when the ~5 s message ends.
    service = await startService({
      clockSpeed: 20,
      sim: {
        seed: 'pacing',
        rates: { answer: 1, busy: 0, 'no-answer': 0, voicemail: 0, unavailable: 0, invalid: 0 },
        ringMs: [1000, 2000],
        listenMs: [600_000, 600_000],
        keyRate: 0,
      },
    });
    ({ account, call } = await newAccountClient(service, { maxConcurrency: 100, callsPerSecond: 1000 }));
    const added = await call<Array<{ account: string }>>('/voice/sipAdd', {
      appId: account.appId,
      groupName: 'pacing-group',
      phoneName: 'pacer',
      quantity: 4,
    });
    agents = added.data.map((a) => a.account);
    const groups = await call<Array<{ voiceGroupId: number }>>('/cc/seatGroup/query', {
      appId: account.appId,
    });
    groupId = groups.data[0]!.voiceGroupId;
  });
  afterAll(async () => service?.close());

  const inFlight = async () => {
    const [row] = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
      [taskId],
    );
    return row!.n;
  };
  const idleAgents = async () => {
    const [row] = await service.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sip_accounts WHERE group_id = $1 AND expires_at > $2
         AND (state = 'idle' OR (state = 'wrapup' AND (wrapup_until IS NULL OR wrapup_until <= $2)))`,
      [groupId, new Date(service.clock.now())],
    );
    return row!.n;
  };
  const setState = (usernames: string[], state: string, extra = '') =>
    service.db.query(`UPDATE sip_accounts SET state = $2 ${extra} WHERE username = ANY($1::text[])`, [
      usernames,
      state,
    ]);
  /** Samples the task's concurrency for `ms`; returns the highest seen. */
  const sample = async (ms: number, limit: number) => {
    let max = 0;
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const n = await inFlight();
      expect(n, `concurrency ${n} over the limit ${limit}`).toBeLessThanOrEqual(limit);
      max = Math.max(max, n);
      await new Promise((r) => setTimeout(r, 5));
    }
    return max;
  };
  const phase = async (expectedIdle: number, ms: number) => {
    expect(await idleAgents()).toBe(expectedIdle);
    const limit = proportionalLimit(expectedIdle, CALLOUT_RATE);
    // Calls already running when agents went away are not cut: wait for them to drain to the new limit.
    await waitFor(`concurrency to drain to ${limit}`, async () => (await inFlight()) <= limit, 20_000);
    return { limit, max: await sample(ms, limit) };
  };

  it('keeps concurrent calls within idle agents × calloutRate as agents change state', async () => {
    const farFuture = service.clock.now() + 30 * 86_400_000;
    for (const username of agents) {
      await bindRegistration(service.db, {
        username,
        contact: `sip:${username}@127.0.0.1`,
        expiresAt: farFuture,
        now: service.clock.now(),
      });
    }
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'proportional',
      source: 3,
      text: 'This is a message of about five seconds, read slowly for the pacing test.',
      lan: 'en',
      outboundControl: 1,
      calloutRate: CALLOUT_RATE,
      sipGroupId: groupId,
      numberList: numbers(2000, '5510'),
    });
    expect(sent.status, JSON.stringify(sent)).toBe('0');
    taskId = sent.data;

    // 4 idle agents → 8 calls at most, and the dialer does use that room.
    const four = await phase(4, 2500);
    expect(four.max).toBeGreaterThanOrEqual(four.limit - 1);

    // 3 agents take calls (busy) → 1 idle → 2 calls.
    await setState(agents.slice(0, 3), 'busy');
    const one = await phase(1, 2000);
    expect(one.max).toBe(one.limit);

    // The last idle agent's registration is removed → nothing is dialled.
    await unbindRegistration(service.db, agents[3]!, service.clock.now());
    const none = await phase(0, 1500);
    expect(none.max).toBe(0);

    // The 3 busy agents finish their wrap-up → 3 idle → 6 calls.
    await setState(agents.slice(0, 3), 'wrapup', ', wrapup_until = NULL');
    const three = await phase(3, 2500);
    expect(three.max).toBeGreaterThanOrEqual(three.limit - 1);

    // An agent whose registration expired counts as offline → 2 idle → 4 calls.
    await service.db.query('UPDATE sip_accounts SET expires_at = $2 WHERE username = $1', [
      agents[0],
      new Date(service.clock.now() - 1),
    ]);
    const two = await phase(2, 2000);
    expect(two.max).toBeGreaterThanOrEqual(two.limit - 1);

    expect((await call('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('0');
  });
});
