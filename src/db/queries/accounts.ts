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

export async function findAccountByKey(db: Queryable, apiKey: string): Promise<AccountRow | undefined> {
  const [row] = await db.query<AccountRow>('SELECT * FROM accounts WHERE api_key = $1', [apiKey]);
  return row;
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
