/**
 * Per-account quotas (issue 13): open tasks and callees waiting to be called, from configuration with an
 * account override, checked when a task is created (send, resend) and answered -23 naming the quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setAccountQuotas } from '../../src/db/queries/quotas.ts';
import { apiClient, newAccount, numbers, startService, type TestService } from '../helpers/harness.ts';

describe('per-account quotas', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startService({
      start: false,
      env: { QUOTA_OPEN_TASKS: '3', QUOTA_QUEUED_CALLEES: '10' },
    });
  });
  afterAll(async () => service?.close());

  const sender = (account: Awaited<ReturnType<typeof newAccount>>) => {
    const call = apiClient(service, account);
    let n = 0;
    return {
      call,
      send: (count: number, extra: Record<string, unknown> = {}) =>
        call<number>('/voice/group/call/send', {
          appId: account.appId,
          taskName: `quota task ${++n}`,
          source: 3,
          text: 'hello',
          lan: 'en',
          numberList: numbers(count, `86139${String(n).padStart(2, '0')}`),
          sendTime: '2030-01-01 00:00:00',
          ...extra,
        }),
    };
  };
  const openTasks = async (accountId: number) =>
    (
      await service.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM tasks WHERE account_id = $1 AND status IN (0, 1, 5, 6)',
        [accountId],
      )
    )[0]!.n;

  it('refuses the task past QUOTA_OPEN_TASKS with -23 naming the quota and its limit, and stores nothing', async () => {
    const account = await newAccount(service.db);
    const { call, send } = sender(account);
    for (let i = 0; i < 3; i++) expect((await send(1)).status).toBe('0');
    const over = await send(1);
    expect(over).toMatchObject({
      status: '-23',
      reason: expect.stringMatching(/^openTasks: .*at most 3 open tasks/),
    });
    expect(await openTasks(account.accountId)).toBe(3);
    // A cancelled task no longer counts.
    const [first] = await service.db.query<{ id: number }>(
      'SELECT min(id) AS id FROM tasks WHERE account_id = $1',
      [account.accountId],
    );
    expect((await call('/voice/group/call/cancel', { taskIdList: [first!.id] })).status).toBe('0');
    expect((await send(1)).status).toBe('0');
  });

  it('refuses callees past QUOTA_QUEUED_CALLEES, for send and resend alike', async () => {
    const account = await newAccount(service.db);
    const { call, send } = sender(account);
    const eight = await send(8);
    expect(eight.status).toBe('0');
    const three = await send(3);
    expect(three).toMatchObject({
      status: '-23',
      reason: expect.stringMatching(/^queuedCallees: .*at most 10 callees.*would make 11/),
    });
    expect((await send(2)).status).toBe('0');
    // Resend copies callees too: cancel the 2-number task, then resend the 8-number one (8 + 8 > 10).
    expect((await call('/voice/group/call/cancel', { taskIdList: [eight.data] })).status).toBe('0');
    const again = await call('/voice/group/call/resend', {
      keyId: eight.data,
      appId: account.appId,
      taskName: 'resent',
      resendType: 0,
      sendTime: '2030-01-01 00:00:00',
    });
    expect(again.status, again.reason).toBe('0');
    const twice = await call('/voice/group/call/resend', {
      keyId: eight.data,
      appId: account.appId,
      taskName: 'resent twice',
      resendType: 0,
    });
    expect(twice).toMatchObject({ status: '-23', reason: expect.stringContaining('queuedCallees') });
  });

  it("an account's own quota overrides the default; other accounts are not affected by one account's use", async () => {
    const big = await newAccount(service.db);
    await setAccountQuotas(service.db, { accountId: big.accountId, maxOpenTasks: 5 });
    const bigSender = sender(big);
    for (let i = 0; i < 5; i++) expect((await bigSender.send(1)).status).toBe('0');
    expect((await bigSender.send(1)).status).toBe('-23');
    const other = sender(await newAccount(service.db));
    expect((await other.send(1)).status).toBe('0');
  });

  it('holds under concurrent sends: exactly the quota succeeds', async () => {
    const account = await newAccount(service.db);
    const { send } = sender(account);
    const results = await Promise.all(Array.from({ length: 8 }, () => send(1)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === '0')).toHaveLength(3);
    expect(statuses.filter((s) => s === '-23')).toHaveLength(5);
    expect(await openTasks(account.accountId)).toBe(3);
  });
});
