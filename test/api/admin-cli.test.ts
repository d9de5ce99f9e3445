/**
 * `ringcast account list|show|update|rotate-secret|disable|enable|delete` and `app add` while the
 * service runs (issue 17). With PGlite the CLI goes through the service's admin listener (ADMIN_PORT,
 * ADMIN_TOKEN); with PostgreSQL (TEST_DATABASE_URL) it opens the shared database itself. Each change is
 * checked through the running service's API.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usingPostgres } from '../helpers/harness.ts';
import { httpApi, type ServiceProcessKit, serviceProcessKit, until } from '../helpers/service-process.ts';

const root = join(import.meta.dirname, '..', '..');
const adminToken = 'test-admin-token-0123456789';
/** The service's ACCOUNT_CACHE_MS: how long a change the CLI writes to PostgreSQL itself may go unseen. */
const accountCacheMs = 400;

interface Shown {
  accountId: number;
  name: string;
  apiKey: string;
  apiSecret?: string;
  maxConcurrency: number;
  callsPerSecond: number;
  maxOpenTasks: number | null;
  ipAllowList: string[];
  disabled: boolean;
  apps: Array<{ appId: number; name: string; callbackUrl: string | null }>;
}

describe(`account administration while the service runs (${usingPostgres ? 'PostgreSQL, direct' : 'PGlite, admin listener'})`, () => {
  let kit: ServiceProcessKit;
  let created: { accountId: number; apiKey: string; apiSecret: string; appId: number };
  const json = <T>(args: string[]): T => JSON.parse(kit.cli(args)) as T;
  /**
   * A signed request to the running service for a task that does not exist: '-24' means the
   * credentials were accepted; '-1' (key, signature, disabled) or '-2' (IP) that they were refused.
   */
  const authStatus = async (account: { apiKey: string; apiSecret: string }) =>
    (await httpApi(kit.port, account)('/voice/group/call/detail/999999'))?.status;
  /**
   * authStatus once a change has had its time to show: at once through the admin listener (the service
   * itself made the change), within ACCOUNT_CACHE_MS when the CLI wrote to the shared PostgreSQL database
   * itself (plus slack for requests on a loaded machine; test/api/account-cache.test.ts checks the bound).
   */
  const authStatusAfterChange = async (account: { apiKey: string; apiSecret: string }, expected: string) => {
    const deadline = performance.now() + (usingPostgres ? accountCacheMs + 5_000 : 0);
    let status = await authStatus(account);
    while (status !== expected && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await authStatus(account);
    }
    return status;
  };

  beforeAll(async () => {
    const adminPort = 21_000 + Math.floor(Math.random() * 2000);
    kit = await serviceProcessKit({
      CALLBACK_ALLOW_PRIVATE: '0',
      ACCOUNT_CACHE_MS: String(accountCacheMs),
      ...(usingPostgres ? {} : { ADMIN_PORT: String(adminPort), ADMIN_TOKEN: adminToken }),
    });
    let output = '';
    kit.start((text) => {
      output += text;
    });
    await until('service up', async () => output.includes('Ringcast listening'), 90_000);
    // Both paths are the point: the CLI must work while the service holds the database.
    created = json(['account', 'create', '--name', 'acme', '--max-concurrency', '5']);
  }, 120_000);
  afterAll(async () => {
    await kit?.stop('SIGTERM');
    await kit?.cleanup();
  });

  it('list: every account with its state, never a secret', () => {
    const listed = json<Array<{ accountId: number; name: string; apiKey: string; state: string }>>([
      'account',
      'list',
    ]);
    expect(listed.map((a) => a.name)).toEqual(['default', 'acme']);
    expect(listed[1]).toMatchObject({
      accountId: created.accountId,
      apiKey: created.apiKey,
      state: 'enabled',
    });
    expect(JSON.stringify(listed)).not.toContain(created.apiSecret);
  }, 60_000);

  it('show: by id or key; the secret only with --show-secret', () => {
    const byId = json<Shown>(['account', 'show', String(created.accountId)]);
    expect(byId).toMatchObject({ name: 'acme', apiKey: created.apiKey, maxConcurrency: 5 });
    expect(byId.apiSecret).toBeUndefined();
    expect(byId.apps).toEqual([{ appId: created.appId, name: 'acme app', callbackUrl: null }]);
    const withSecret = json<Shown>(['account', 'show', created.apiKey, '--show-secret']);
    expect(withSecret.apiSecret).toBe(created.apiSecret);
  }, 60_000);

  it('update: limits, name, allow-list, quota and an app callback URL, in effect at once', async () => {
    const updated = json<Shown>([
      'account',
      'update',
      created.apiKey,
      '--name',
      'acme-renamed',
      '--max-concurrency',
      '12',
      '--cps',
      '3',
      '--max-open-tasks',
      '7',
      '--ip-allow',
      '203.0.113.9',
      '--app',
      String(created.appId),
      '--callback-url',
      'https://hooks.example.com/ringcast',
    ]);
    expect(updated).toMatchObject({
      name: 'acme-renamed',
      maxConcurrency: 12,
      callsPerSecond: 3,
      maxOpenTasks: 7,
      ipAllowList: ['203.0.113.9'],
      apps: [{ appId: created.appId, callbackUrl: 'https://hooks.example.com/ringcast' }],
    });
    // The allow-list is enforced by the running service: our loopback address is now refused (-2).
    expect(await authStatusAfterChange(created, '-2')).toBe('-2');
    const back = json<Shown>([
      'account',
      'update',
      created.apiKey,
      '--ip-allow',
      '',
      '--max-open-tasks',
      'default',
    ]);
    expect(back).toMatchObject({ ipAllowList: [], maxOpenTasks: null });
    expect(await authStatusAfterChange(created, '-24')).toBe('-24');
  }, 60_000);

  it('rotate-secret: the old secret is refused (at once, or within ACCOUNT_CACHE_MS from another process), the new one works', async () => {
    const rotated = json<{ apiKey: string; apiSecret: string }>(['account', 'rotate-secret', created.apiKey]);
    expect(rotated.apiSecret).not.toBe(created.apiSecret);
    expect(await authStatusAfterChange(created, '-1')).toBe('-1');
    expect(await authStatusAfterChange(rotated, '-24')).toBe('-24');
    created = { ...created, apiSecret: rotated.apiSecret };
  }, 60_000);

  it('disable and enable', async () => {
    expect(json(['account', 'disable', created.apiKey])).toMatchObject({ disabled: true });
    expect(await authStatusAfterChange(created, '-1')).toBe('-1');
    expect(json(['account', 'enable', String(created.accountId)])).toMatchObject({ disabled: false });
    expect(await authStatusAfterChange(created, '-24')).toBe('-24');
  }, 60_000);

  it('app add: a second app with its callback URL', () => {
    const app = json<{ appId: number; name: string }>([
      'app',
      'add',
      created.apiKey,
      '--name',
      'second',
      '--callback-url',
      'https://hooks.example.com/second',
    ]);
    expect(app.appId).toBeGreaterThan(created.appId);
    expect(json<Shown>(['account', 'show', created.apiKey]).apps.map((a) => a.name)).toEqual([
      'acme app',
      'second',
    ]);
  }, 60_000);

  it('delete: the key stops working for good; the account leaves the list; unknown accounts are an error', async () => {
    expect(json(['account', 'delete', created.apiKey])).toMatchObject({ deleted: true });
    expect(await authStatusAfterChange(created, '-1')).toBe('-1');
    const names = json<Array<{ name: string }>>(['account', 'list']).map((a) => a.name);
    expect(names).toEqual(['default']);
    const all = json<Array<{ name: string; state: string; apiKey: string | null }>>([
      'account',
      'list',
      '--all',
    ]);
    expect(all[1]).toMatchObject({ state: 'deleted', apiKey: null });
    const again = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'account', 'show', created.apiKey],
      {
        cwd: root,
        env: kit.env,
        encoding: 'utf8',
      },
    );
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe(`ringcast: no account ${created.apiKey} (give its id or its Api-Key)`);
  }, 60_000);

  it.skipIf(usingPostgres)('the admin listener refuses a wrong token', async () => {
    const response = await fetch(`http://127.0.0.1:${kit.env.ADMIN_PORT}/admin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-wrong-token' },
      body: JSON.stringify({ op: 'list', includeDeleted: true }),
    });
    expect(response.status).toBe(401);
  });
});
