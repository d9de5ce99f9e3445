/**
 * Account administration (`ringcast account …`, `ringcast app add`), one set of operations run two
 * ways: directly on the database (PostgreSQL, or PGlite while the service is stopped), or inside the
 * running service through the admin listener — a separate HTTP listener bound to 127.0.0.1 and
 * protected by ADMIN_TOKEN — which is how the CLI reaches a PGlite database the service holds.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import {
  type AccountPatch,
  type AccountSummary,
  accountSecret,
  accountsChanged,
  createAccount,
  createApp,
  deleteAccount,
  findAccountSummary,
  listAccounts,
  listApps,
  type NewAccount,
  rotateAccountSecret,
  setAccountDisabled,
  setAppCallbackUrl,
  updateAccount,
} from '../db/queries/accounts.ts';
import { type AccountRules, setAccountRules } from '../db/queries/calling-rules.ts';

export type AdminCommand =
  | { op: 'create'; account: NewAccount }
  | { op: 'list'; includeDeleted: boolean }
  | { op: 'show'; account: string; showSecret: boolean }
  | { op: 'update'; account: string; patch: AccountPatch; app?: { id: number; callbackUrl: string | null } }
  | { op: 'rotate-secret'; account: string }
  | { op: 'disable' | 'enable'; account: string }
  | { op: 'delete'; account: string }
  | { op: 'app-add'; account: string; name: string; callbackUrl: string | null }
  | { op: 'rules'; account: string; rules: Partial<AccountRules> };

/** What a command answers: data to print, or an error in words (exit status 1). */
export type AdminResult = { ok: true; data: unknown } | { ok: false; error: string };

function view(
  account: AccountSummary,
  apps: Array<{ id: number; name: string; callback_url: string | null }>,
) {
  return {
    accountId: account.id,
    name: account.name,
    apiKey: account.api_key,
    timeZone: account.time_zone,
    ipAllowList: account.ip_allow_list,
    maxConcurrency: account.max_concurrency,
    callsPerSecond: account.calls_per_second,
    requireHmac: account.require_hmac,
    disabled: account.disabled,
    maxOpenTasks: account.max_open_tasks,
    maxQueuedCallees: account.max_queued_callees,
    openTasks: account.open_tasks,
    createdAt: new Date(account.created_at).toISOString(),
    apps: apps.map((app) => ({ appId: app.id, name: app.name, callbackUrl: app.callback_url })),
  };
}

export async function runAdminCommand(db: Db, command: AdminCommand, now = Date.now()): Promise<AdminResult> {
  if (command.op === 'create') {
    const { account, app } = await createAccount(db, command.account, now);
    return {
      ok: true,
      data: { accountId: account.id, apiKey: account.api_key, apiSecret: account.api_secret, appId: app.id },
    };
  }
  if (command.op === 'list') {
    const rows = await listAccounts(db, { includeDeleted: command.includeDeleted });
    return {
      ok: true,
      data: rows.map((row) => ({
        accountId: row.id,
        name: row.name,
        apiKey: row.deleted_at ? null : row.api_key,
        state: row.deleted_at ? 'deleted' : row.disabled ? 'disabled' : 'enabled',
        openTasks: row.open_tasks,
      })),
    };
  }
  const account = await findAccountSummary(db, command.account);
  if (!account) return { ok: false, error: `no account ${command.account} (give its id or its Api-Key)` };
  switch (command.op) {
    case 'show': {
      const shown: Record<string, unknown> = view(account, await listApps(db, account.id));
      if (command.showSecret) shown.apiSecret = await accountSecret(db, account.id);
      return { ok: true, data: shown };
    }
    case 'update': {
      if (command.app) {
        const changed = await setAppCallbackUrl(db, {
          accountId: account.id,
          appId: command.app.id,
          callbackUrl: command.app.callbackUrl,
        });
        if (!changed) return { ok: false, error: `account ${account.id} has no app ${command.app.id}` };
      }
      await updateAccount(db, account.id, command.patch);
      const updated = await findAccountSummary(db, String(account.id));
      return { ok: true, data: view(updated!, await listApps(db, account.id)) };
    }
    case 'rotate-secret':
      return {
        ok: true,
        data: {
          accountId: account.id,
          apiKey: account.api_key,
          apiSecret: await rotateAccountSecret(db, account.id),
        },
      };
    case 'disable':
    case 'enable':
      await setAccountDisabled(db, account.id, command.op === 'disable');
      return { ok: true, data: { accountId: account.id, disabled: command.op === 'disable' } };
    case 'delete':
      if (!(await deleteAccount(db, account.id, now)))
        return {
          ok: false,
          error: `account ${account.id} has ${account.open_tasks} open task(s); cancel them first`,
        };
      return { ok: true, data: { accountId: account.id, deleted: true } };
    case 'app-add': {
      const app = await createApp(db, account.id, command.name, command.callbackUrl, now);
      return {
        ok: true,
        data: { accountId: account.id, appId: app.id, name: app.name, callbackUrl: app.callback_url },
      };
    }
    case 'rules': {
      // Calling rules (spec §8); the same statement as POST /voice/account/callingRules.
      const rules = await db.transaction((tx) =>
        setAccountRules(tx, { accountId: account.id, rules: command.rules, now }),
      );
      // Again after the commit: a request that read the row before it must not keep the old rules cached.
      accountsChanged();
      return { ok: true, data: { accountId: account.id, ...rules } };
    }
  }
}

function tokenMatches(given: string | undefined, token: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(`Bearer ${token}`);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The admin listener: POST /admin with an AdminCommand as JSON and `Authorization: Bearer <ADMIN_TOKEN>`.
 * Bound to loopback by the caller; a wrong token is 401, a command error 422.
 */
export function buildAdminServer(db: Db, token: string, log?: Logger): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.post('/admin', async (request, reply) => {
    if (!tokenMatches(request.headers.authorization, token))
      return reply.code(401).send({ ok: false, error: 'wrong or missing admin token (ADMIN_TOKEN)' });
    const command = request.body as AdminCommand;
    if (!command || typeof command !== 'object' || typeof command.op !== 'string')
      return reply.code(400).send({ ok: false, error: 'body: an admin command' });
    let result: AdminResult;
    try {
      result = await runAdminCommand(db, command);
    } catch (error) {
      log?.error({ err: error, op: command.op }, 'admin command failed');
      return reply.code(500).send({ ok: false, error: `admin command failed: ${(error as Error).message}` });
    }
    log?.info(
      { op: command.op, account: 'account' in command ? command.account : undefined },
      'admin command',
    );
    return reply.code(result.ok ? 200 : 422).send(result);
  });
  return app;
}
