/**
 * Test kit: a fresh database per test file (a new database on the PostgreSQL server when
 * TEST_DATABASE_URL is set, else an in-memory PGlite from a migrated template), a service built on it,
 * and a client that signs requests like a real integration does.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { expect } from 'vitest';
import { createRingcast, type Ringcast } from '../../src/app.ts';
import { ScaledClock } from '../../src/clock.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Db, dumpPglite, openDb } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createAccount, type NewAccount } from '../../src/db/queries/accounts.ts';
import { compatSign } from '../../src/domain/sign.ts';
import { createMediaService } from '../../src/media/service.ts';
import type { MediaService } from '../../src/media/types.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import type { SmsTransport } from '../../src/sms/transport.ts';
import type { TelephonyDriver } from '../../src/telephony/driver.ts';
import { SimDriver, type SimOptions } from '../../src/telephony/sim/sim-driver.ts';

export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);
let template: Blob | undefined;

export async function testDb(): Promise<{ db: Db; url?: string; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const name = `ringcast_test_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const db = await openDb({ databaseUrl: url.toString(), poolSize: 20 });
    await migrate(db);
    return {
      db,
      url: url.toString(),
      async drop() {
        await db.close().catch(() => undefined);
        const c = new pg.Client({ connectionString: serverUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  if (!template) {
    const seed = await openDb({});
    await migrate(seed);
    template = await dumpPglite(seed);
    await seed.close();
  }
  const db = await openDb({ pgliteTemplate: template });
  return { db, drop: () => db.close().catch(() => undefined) };
}

export type ConfigOverrides = {
  server?: Partial<Config['server']>;
  db?: Partial<Config['db']>;
  engine?: Partial<Config['engine']>;
  media?: Partial<Config['media']>;
};

/** The configuration tree with some areas' fields replaced (tests). */
export function withOverrides(config: Config, overrides: ConfigOverrides): Config {
  return {
    ...config,
    server: { ...config.server, ...overrides.server },
    db: { ...config.db, ...overrides.db },
    engine: { ...config.engine, ...overrides.engine },
    media: { ...config.media, ...overrides.media },
  };
}

export interface TestServiceOptions {
  clockSpeed?: number;
  /** What the clock reads when the service starts. */
  clockStart?: number;
  sim?: Partial<SimOptions>;
  /** A carrier, or one built on the service's clock (e.g. a CountingSim around a SimDriver). */
  driver?: TelephonyDriver | ((clock: ScaledClock) => TelephonyDriver);
  media?: MediaService;
  sms?: SmsTransport;
  /** The service's logger (default: silent). */
  log?: Logger;
  leaseRealMs?: number;
  start?: boolean;
  /** Per-area overrides of the configuration tree, e.g. { engine: { shutdownGraceMs: 200 } }. */
  config?: ConfigOverrides;
  /** Environment settings for loadConfig (e.g. TRUST_PROXY, QUOTA_OPEN_TASKS). */
  env?: Record<string, string>;
}

export interface TestService {
  ring: Ringcast;
  clock: ScaledClock;
  db: Db;
  close(): Promise<void>;
}

export async function startService(options: TestServiceOptions = {}): Promise<TestService> {
  const { db, drop } = await testDb();
  const clock = new ScaledClock(
    options.clockSpeed ?? 1000,
    Date.now(),
    options.clockStart ?? Date.parse('2026-11-25T02:00:00Z'),
  );
  // Test receivers listen on 127.0.0.1: callback URLs may point at private addresses here.
  const config = withOverrides(loadConfig({ CALLBACK_ALLOW_PRIVATE: '1', ...options.env }), {
    ...options.config,
    engine: { pollMs: 10, leaseRealMs: options.leaseRealMs ?? 10_000, ...options.config?.engine },
    server: { logLevel: 'silent', ...options.config?.server },
  });
  const ring = await createRingcast(config, {
    db,
    clock,
    media: options.media ?? createMediaService({ warmUp: false }),
    driver:
      typeof options.driver === 'function'
        ? options.driver(clock)
        : (options.driver ?? new SimDriver(clock, { seed: 'test', ...options.sim })),
    sms: options.sms ?? new LogTransport(silentLogger),
    log: options.log ?? pino({ level: 'silent' }),
    checkResponses: true,
  });
  if (options.start !== false) ring.engine.start();
  return {
    ring,
    clock,
    db,
    async close() {
      await ring.close();
      await drop();
    },
  };
}

export interface TestAccount {
  accountId: number;
  appId: number;
  apiKey: string;
  apiSecret: string;
}

export async function newAccount(
  db: Db,
  overrides: Partial<NewAccount> = {},
  now = Date.now(),
): Promise<TestAccount> {
  const { account, app } = await createAccount(
    db,
    {
      name: `acct-${randomBytes(3).toString('hex')}`,
      timeZone: 'UTC+8',
      ipAllowList: [],
      maxConcurrency: 200,
      callsPerSecond: 1000,
      callbackUrl: null,
      requireHmac: false,
      ...overrides,
    },
    now,
  );
  return { accountId: account.id, appId: app.id, apiKey: account.api_key, apiSecret: account.api_secret };
}

export interface Envelope<T = unknown> {
  status: string;
  reason: string;
  code: string;
  msg: string;
  data: T;
}

/** Calls the API like a client: signed headers, JSON body, envelope back (asserting HTTP 200). */
export function apiClient(service: TestService, account: TestAccount) {
  return async function call<T = unknown>(
    path: string,
    body?: unknown,
    options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; remoteAddress?: string } = {},
  ): Promise<Envelope<T>> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await service.ring.server.inject({
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      url: path,
      headers: {
        'content-type': 'application/json',
        'Api-Key': account.apiKey,
        Timestamp: timestamp,
        Sign: compatSign(account.apiKey, account.apiSecret, timestamp),
        ...options.headers,
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
    });
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${response.body}`);
    const type = String(response.headers['content-type'] ?? '');
    // A few [ours] endpoints answer success with a file (audio, CSV); failures are always the envelope.
    if (!type.includes('json'))
      return { status: '0', reason: type, code: '0', msg: type, data: response.body as T };
    return response.json() as Envelope<T>;
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once the engine's dialer and recall scheduler have each completed `n` more ticks: what a
 * "nothing more happens" check waits for, instead of a wall-clock sleep that passes vacuously on a slow
 * machine.
 */
/**
 * Waits until the dialer, the recall scheduler and the SMS sender have each completed `n` more ticks: the
 * point after which anything still due would have been acted on. Tests wait on this, never on wall time,
 * before asserting that nothing more happened.
 */
export async function afterEngineTicks(service: { ring: Ringcast }, n = 2): Promise<void> {
  const { dialer, recall, sms } = service.ring.engine;
  const [d, r, s] = [dialer.ticks, recall.ticks, sms.ticks];
  await waitFor(
    `${n} engine ticks`,
    async () => dialer.ticks >= d + n && recall.ticks >= r + n && sms.ticks >= s + n,
  );
}

export function numbers(count: number, prefix = '8613800'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
}

/**
 * Sends group-call tasks for tests: a TTS task of the account's app unless `body` says otherwise, and
 * insists the send succeeded. Returns the task id.
 */
export function taskSender(
  call: ReturnType<typeof apiClient>,
  appId: number,
  defaults: Record<string, unknown> = { text: 'Hello, this is your reminder.' },
) {
  return async (body: Record<string, unknown>): Promise<number> => {
    const response = await call<number>('/voice/group/call/send', {
      appId,
      source: 3,
      lan: 'en',
      ...defaults,
      ...body,
    });
    expect(response.status, JSON.stringify(response)).toBe('0');
    return response.data;
  };
}
