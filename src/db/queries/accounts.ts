import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db.ts';

export interface AccountRow {
  id: number;
  name: string;
  api_key: string;
  api_secret: string;
  time_zone: string;
  ip_allow_list: string[];
  max_concurrency: number;
  calls_per_second: number;
  require_hmac: boolean;
  disabled: boolean;
  /** Own quotas; null = the service default (src/api/quotas.ts). */
  max_open_tasks: number | null;
  max_queued_callees: number | null;
  /** Calling rules (spec §8); null = off. */
  legal_window: { strTime: string; endTime: string } | null;
  max_attempts_count: number | null;
  max_attempts_days: number | null;
}

export interface AppRow {
  id: number;
  account_id: number;
  name: string;
  callback_url: string | null;
}

export interface NewAccount {
  name: string;
  timeZone: string;
  ipAllowList: string[];
  maxConcurrency: number;
  callsPerSecond: number;
  callbackUrl: string | null;
  requireHmac: boolean;
  maxOpenTasks?: number | null;
  maxQueuedCallees?: number | null;
}

export async function createAccount(db: Queryable, input: NewAccount, now: number) {
  const apiKey = randomBytes(6).toString('base64url');
  const apiSecret = randomBytes(12).toString('base64url');
  const [account] = await db.query<AccountRow>(
    `INSERT INTO accounts (name, api_key, api_secret, time_zone, ip_allow_list, max_concurrency,
       calls_per_second, require_hmac, created_at, max_open_tasks, max_queued_callees)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [
      input.name,
      apiKey,
      apiSecret,
      input.timeZone,
      input.ipAllowList,
      input.maxConcurrency,
      input.callsPerSecond,
      input.requireHmac,
      new Date(now),
      input.maxOpenTasks ?? null,
      input.maxQueuedCallees ?? null,
    ],
  );
  const app = await createApp(db, account!.id, `${input.name} app`, input.callbackUrl, now);
  return { account: account!, app };
}

export async function createApp(
  db: Queryable,
  accountId: number,
  name: string,
  callbackUrl: string | null,
  now: number,
): Promise<AppRow> {
  const [app] = await db.query<AppRow>(
    'INSERT INTO apps (account_id, name, callback_url, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
    [accountId, name, callbackUrl, new Date(now)],
  );
  return app!;
}

/** The columns of AccountRow (not the engine's pacing state, which changes with every dial). */
const accountRowColumns = `id, name, api_key, api_secret, time_zone, ip_allow_list, max_concurrency, calls_per_second,
  require_hmac, disabled, max_open_tasks, max_queued_callees, legal_window, max_attempts_count, max_attempts_days`;

export async function findAccountByKey(db: Queryable, apiKey: string): Promise<AccountRow | undefined> {
  const [row] = await db.query<AccountRow>(
    `SELECT ${accountRowColumns} FROM accounts WHERE api_key = $1`,
    [apiKey],
    { prepareAs: 'account_by_key' },
  );
  return row;
}

const accountChangeListeners = new Set<() => void>();

/**
 * Called with no argument whenever this process changes an account (limits, key, secret, allow-list,
 * rules, disabled): caches of accounts (src/api/account-lookup.ts) drop what they hold. Returns the
 * unsubscribe function.
 */
export function onAccountsChanged(listener: () => void): () => void {
  accountChangeListeners.add(listener);
  return () => accountChangeListeners.delete(listener);
}

/**
 * Tells this process's account caches that an account changed. The writers below call it after their
 * statement; a caller that changes an account inside a transaction calls it again after the commit, so
 * a request that read the old row meanwhile is not kept.
 */
export function accountsChanged(): void {
  for (const listener of accountChangeListeners) listener();
}

export async function findApp(db: Queryable, accountId: number, appId: number): Promise<AppRow | undefined> {
  const [row] = await db.query<AppRow>('SELECT * FROM apps WHERE id = $1 AND account_id = $2', [
    appId,
    accountId,
  ]);
  return row;
}

export async function listApps(db: Queryable, accountId: number): Promise<AppRow[]> {
  return db.query<AppRow>('SELECT * FROM apps WHERE account_id = $1 ORDER BY id', [accountId]);
}

export async function setAccountDisabled(db: Queryable, accountId: number, disabled: boolean): Promise<void> {
  await db.query('UPDATE accounts SET disabled = $2 WHERE id = $1', [accountId, disabled]);
  accountsChanged();
}

/** Records a nonce of the strong signature scheme; false when it was used before (a replay). */
export async function useNonce(
  db: Queryable,
  accountId: number,
  nonce: string,
  now: number,
): Promise<boolean> {
  await db.query('DELETE FROM nonces WHERE account_id = $1 AND expires_at < $2', [accountId, new Date(now)]);
  const rows = await db.query(
    `INSERT INTO nonces (account_id, nonce, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING RETURNING nonce`,
    [accountId, nonce, new Date(now + 15 * 60_000)],
  );
  return rows.length === 1;
}

export async function countAccounts(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts');
  return row?.n ?? 0;
}

/** An account as the administration commands show it (the secret only when asked for). */
export type AccountSummary = Omit<
  AccountRow,
  'api_secret' | 'legal_window' | 'max_attempts_count' | 'max_attempts_days'
> & {
  created_at: Date;
  deleted_at: Date | null;
  open_tasks: number;
};

const summaryColumns = `a.id, a.name, a.api_key, a.time_zone, a.ip_allow_list, a.max_concurrency, a.calls_per_second,
  a.require_hmac, a.disabled, a.max_open_tasks, a.max_queued_callees, a.created_at, a.deleted_at,
  (SELECT count(*)::int FROM tasks t WHERE t.account_id = a.id AND t.status IN (0, 1, 5, 6)) AS open_tasks`;

export async function listAccounts(
  db: Queryable,
  options: { includeDeleted: boolean },
): Promise<AccountSummary[]> {
  return db.query<AccountSummary>(
    `SELECT ${summaryColumns} FROM accounts a WHERE $1 OR a.deleted_at IS NULL ORDER BY a.id`,
    [options.includeDeleted],
  );
}

/** By id (digits) or by Api-Key; deleted accounts are not found. */
export async function findAccountSummary(db: Queryable, ref: string): Promise<AccountSummary | undefined> {
  const [row] = await db.query<AccountSummary>(
    `SELECT ${summaryColumns} FROM accounts a
     WHERE a.deleted_at IS NULL AND (a.api_key = $1 OR a.id = $2)`,
    [ref, /^[0-9]{1,9}$/.test(ref) ? Number(ref) : null],
  );
  return row;
}

export async function accountSecret(db: Queryable, accountId: number): Promise<string | undefined> {
  const [row] = await db.query<{ api_secret: string }>('SELECT api_secret FROM accounts WHERE id = $1', [
    accountId,
  ]);
  return row?.api_secret;
}

export interface AccountPatch {
  name?: string;
  timeZone?: string;
  ipAllowList?: string[];
  maxConcurrency?: number;
  callsPerSecond?: number;
  requireHmac?: boolean;
  /** null = back to the service default. */
  maxOpenTasks?: number | null;
  maxQueuedCallees?: number | null;
}

/** Changes the given fields only; an omitted field keeps its value. */
export async function updateAccount(db: Queryable, accountId: number, patch: AccountPatch): Promise<void> {
  const has = (value: unknown) => value !== undefined;
  await db.query(
    `UPDATE accounts SET
       name = CASE WHEN $2 THEN $3 ELSE name END,
       time_zone = CASE WHEN $4 THEN $5 ELSE time_zone END,
       ip_allow_list = CASE WHEN $6 THEN $7::text[] ELSE ip_allow_list END,
       max_concurrency = CASE WHEN $8 THEN $9::int ELSE max_concurrency END,
       calls_per_second = CASE WHEN $10 THEN $11::real ELSE calls_per_second END,
       require_hmac = CASE WHEN $12 THEN $13::boolean ELSE require_hmac END,
       max_open_tasks = CASE WHEN $14 THEN $15::int ELSE max_open_tasks END,
       max_queued_callees = CASE WHEN $16 THEN $17::int ELSE max_queued_callees END
     WHERE id = $1`,
    [
      accountId,
      has(patch.name),
      patch.name ?? null,
      has(patch.timeZone),
      patch.timeZone ?? null,
      has(patch.ipAllowList),
      patch.ipAllowList ?? null,
      has(patch.maxConcurrency),
      patch.maxConcurrency ?? null,
      has(patch.callsPerSecond),
      patch.callsPerSecond ?? null,
      has(patch.requireHmac),
      patch.requireHmac ?? null,
      has(patch.maxOpenTasks),
      patch.maxOpenTasks ?? null,
      has(patch.maxQueuedCallees),
      patch.maxQueuedCallees ?? null,
    ],
  );
  accountsChanged();
}

export async function setAppCallbackUrl(
  db: Queryable,
  args: { accountId: number; appId: number; callbackUrl: string | null },
): Promise<boolean> {
  const rows = await db.query(
    'UPDATE apps SET callback_url = $3 WHERE id = $2 AND account_id = $1 RETURNING id',
    [args.accountId, args.appId, args.callbackUrl],
  );
  return rows.length === 1;
}

/** A fresh secret; the old one stops working at once in this process, within ACCOUNT_CACHE_MS in others. */
export async function rotateAccountSecret(db: Queryable, accountId: number): Promise<string> {
  const secret = randomBytes(12).toString('base64url');
  await db.query('UPDATE accounts SET api_secret = $2 WHERE id = $1', [accountId, secret]);
  accountsChanged();
  return secret;
}

/**
 * Deletes an account's access: its key and secret are replaced by unusable random values, it is
 * disabled and marked deleted; its records stay. Refused (false) while it has open tasks.
 */
export async function deleteAccount(db: Queryable, accountId: number, now: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE accounts SET deleted_at = $2, disabled = true, api_key = 'deleted-' || id || '-' || $3,
       api_secret = $4
     WHERE id = $1 AND deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM tasks WHERE account_id = $1 AND status IN (0, 1, 5, 6))
     RETURNING id`,
    [accountId, new Date(now), randomBytes(6).toString('hex'), randomBytes(24).toString('base64url')],
  );
  accountsChanged();
  return rows.length === 1;
}
