/**
 * Accounts are reused by Api-Key for ACCOUNT_CACHE_MS (src/api/account-lookup.ts): a change made in this
 * process (disable, rotate, allow-list, calling rules) applies at once, one made by another process within
 * the bound, and one account's entry never answers another key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountLookup } from '../../src/api/account-lookup.ts';
import type { Queryable } from '../../src/db/db.ts';
import {
  type AccountRow,
  accountsChanged,
  rotateAccountSecret,
  setAccountDisabled,
  updateAccount,
} from '../../src/db/queries/accounts.ts';
import {
  apiClient,
  newAccount,
  startService,
  type TestAccount,
  type TestService,
} from '../helpers/harness.ts';

/** '-24' (no such task) means the credentials were accepted; '-1' or '-2' that they were refused. */
const authStatus = async (service: TestService, account: TestAccount) =>
  (await apiClient(service, account)('/voice/group/call/detail/999999', undefined, { method: 'GET' })).status;

describe('with a long ACCOUNT_CACHE_MS, changes made in this process apply at once', () => {
  let service: TestService;
  let account: TestAccount;
  beforeAll(async () => {
    // A minute: any change that only showed after the bound would fail these tests.
    service = await startService({ start: false, env: { ACCOUNT_CACHE_MS: '60000' } });
    account = await newAccount(service.db);
  });
  afterAll(async () => service?.close());

  it('a disabled account is refused on its next request, and accepted again once enabled', async () => {
    expect(await authStatus(service, account)).toBe('-24');
    await setAccountDisabled(service.db, account.accountId, true);
    expect(await authStatus(service, account)).toBe('-1');
    await setAccountDisabled(service.db, account.accountId, false);
    expect(await authStatus(service, account)).toBe('-24');
  });

  it('a rotated secret: the old one is refused on the next request, the new one accepted', async () => {
    expect(await authStatus(service, account)).toBe('-24');
    const apiSecret = await rotateAccountSecret(service.db, account.accountId);
    expect(await authStatus(service, account)).toBe('-1');
    account = { ...account, apiSecret };
    expect(await authStatus(service, account)).toBe('-24');
  });

  it('an IP allow-list set or cleared applies on the next request', async () => {
    expect(await authStatus(service, account)).toBe('-24');
    await updateAccount(service.db, account.accountId, { ipAllowList: ['203.0.113.9'] });
    expect(await authStatus(service, account)).toBe('-2');
    await updateAccount(service.db, account.accountId, { ipAllowList: [] });
    expect(await authStatus(service, account)).toBe('-24');
  });

  it('calling rules set through the API are in the next answer of /voice/account/info', async () => {
    const call = apiClient(service, account);
    expect((await call<{ legalWindow: unknown }>('/voice/account/info', {})).data.legalWindow).toBeNull();
    const legalWindow = { strTime: '09:00', endTime: '20:00' };
    expect((await call('/voice/account/callingRules', { legalWindow })).status).toBe('0');
    expect((await call<{ legalWindow: unknown }>('/voice/account/info', {})).data.legalWindow).toEqual(
      legalWindow,
    );
  });

  it("one account's cached entry never answers another key", async () => {
    const a = await newAccount(service.db, { name: 'cache-a' });
    const b = await newAccount(service.db, { name: 'cache-b' });
    const nameOf = async (account: TestAccount) =>
      (await apiClient(service, account)<{ accountName: string }>('/voice/account/info', {})).data
        ?.accountName;
    // Both entries cached, then asked for in an interleaved burst.
    const names = await Promise.all(Array.from({ length: 40 }, (_, i) => nameOf(i % 2 ? b : a)));
    expect(names).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 ? 'cache-b' : 'cache-a')));
    // A's key with B's secret, and A's key in another letter case, are refused.
    expect(await authStatus(service, { ...a, apiSecret: b.apiSecret })).toBe('-1');
    expect(await authStatus(service, { ...a, apiKey: a.apiKey.toUpperCase() })).toBe(
      a.apiKey.toUpperCase() === a.apiKey ? '-24' : '-1',
    );
  });
});

describe('a change made by another process shows within ACCOUNT_CACHE_MS', () => {
  const cacheMs = 300;
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ start: false, env: { ACCOUNT_CACHE_MS: String(cacheMs) } });
  });
  afterAll(async () => service?.close());

  it('an account disabled straight in the database is refused within the bound', async () => {
    const account = await newAccount(service.db);
    expect(await authStatus(service, account)).toBe('-24');
    // Written like another process would (the admin CLI on a shared PostgreSQL): nothing here is told.
    await service.db.query('UPDATE accounts SET disabled = true WHERE id = $1', [account.accountId]);
    const changedAt = performance.now();
    let refusedAt: number | undefined;
    /** How long the last accepted request took: the poll cannot send its successor sooner. */
    let lastAcceptedMs = 0;
    while (refusedAt === undefined && performance.now() - changedAt < cacheMs + 2_000) {
      const sentAt = performance.now();
      if ((await authStatus(service, account)) === '-1') refusedAt = sentAt;
      else lastAcceptedMs = performance.now() - sentAt;
    }
    expect(refusedAt).toBeDefined();
    // The first request sent after the bound (give or take one poll) is refused.
    expect(refusedAt! - changedAt).toBeLessThanOrEqual(cacheMs + lastAcceptedMs + 50);
  });
});

describe('AccountLookup', () => {
  const row = (apiSecret: string): AccountRow => ({
    id: 1,
    name: 'a',
    api_key: 'key-a',
    api_secret: apiSecret,
    time_zone: 'UTC',
    ip_allow_list: [],
    max_concurrency: 1,
    calls_per_second: 1,
    require_hmac: false,
    disabled: false,
    max_open_tasks: null,
    max_queued_callees: null,
    legal_window: null,
    max_attempts_count: null,
    max_attempts_days: null,
  });

  /** A database whose account reads wait until released, answering the secret current at release. */
  function slowDb() {
    let secret = 'old';
    const waiting: Array<() => void> = [];
    let reads = 0;
    const db: Queryable = {
      async query<R>(): Promise<R[]> {
        reads++;
        await new Promise<void>((resolve) => waiting.push(resolve));
        return [row(secret) as R];
      },
      exec: async () => undefined,
      copyRows: async () => undefined,
    };
    return {
      db,
      reads: () => reads,
      setSecret: (value: string) => {
        secret = value;
      },
      releaseAll: () => {
        for (const resolve of waiting.splice(0)) resolve();
      },
    };
  }

  it('a read under way when an account changes is read again, not kept', async () => {
    const fake = slowDb();
    const lookup = new AccountLookup(fake.db, 60_000);
    try {
      // The read starts before the change; its answer would be the old row.
      const pending = lookup.find('key-a');
      await Promise.resolve();
      accountsChanged();
      fake.releaseAll();
      // The change committed; the second read sees it.
      fake.setSecret('new');
      const reread = setInterval(fake.releaseAll, 1);
      const found = await pending.finally(() => clearInterval(reread));
      expect(found?.api_secret).toBe('new');
      expect(fake.reads()).toBe(2);
    } finally {
      lookup.close();
    }
  });

  it('concurrent lookups of one key share one read, and another key is never answered from it', async () => {
    const fake = slowDb();
    const lookup = new AccountLookup(fake.db, 60_000);
    try {
      const both = Promise.all([lookup.find('key-a'), lookup.find('key-a')]);
      await Promise.resolve();
      fake.releaseAll();
      expect((await both).map((a) => a?.id)).toEqual([1, 1]);
      expect(fake.reads()).toBe(1);
      // The fake answers key-a's row whatever it is asked: the row's own key must match.
      const other = lookup.find('key-b');
      await Promise.resolve();
      fake.releaseAll();
      expect(await other).toBeUndefined();
    } finally {
      lookup.close();
    }
  });
});
