/**
 * Test kit: a fresh database per test file (a new database on the PostgreSQL server when
 * TEST_DATABASE_URL is set, else an in-memory PGlite from a migrated template), a service built on it,
 * and a client that signs requests like a real integration does.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { expect } from 'vitest';
import { createRingcast, type Ringcast } from '../../src/app.ts';
import { ScaledClock } from '../../src/clock.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Db, dumpPglite, openDb } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createAccount, type NewAccount } from '../../src/db/queries/accounts.ts';
import {
  insertSeatGroup,
  insertSipAccounts,
  type SeatGroupRow,
  type SipAccountRow,
} from '../../src/db/queries/agents.ts';
import type { CallRecord } from '../../src/domain/call-record.ts';
import { compatSign } from '../../src/domain/sign.ts';
import { ContentPreparer } from '../../src/engine/content.ts';
import { Engine } from '../../src/engine/engine.ts';
import { createMediaService } from '../../src/media/service.ts';
import type { MediaService } from '../../src/media/types.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import type { SmsTransport } from '../../src/sms/transport.ts';
import type { TelephonyDriver } from '../../src/telephony/driver.ts';
import { SimDriver, type SimOptions } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from './counting-sim.ts';

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

/**
 * `count` engines on the service's database, as separate dialler processes would be: each its own lease
 * owner (`owner-0`, `owner-1`…), clock (at the service clock's speed and time) and counting carrier. They
 * are not started; stop them with `stopAndDrain` before closing the service.
 */
export function workerEngines(
  service: TestService,
  count: number,
  owner: string,
  sim: Partial<SimOptions>,
  maxInFlight = 20,
  /** The engines' view of the database (a FaultyDb, say); the service's own by default. */
  db: Db = service.db,
): { engines: Engine[]; carriers: CountingSim[] } {
  const media = createMediaService({ warmUp: false });
  const engines: Engine[] = [];
  const carriers: CountingSim[] = [];
  for (let i = 0; i < count; i++) {
    const clock = new ScaledClock(service.clock.speed, Date.now(), service.clock.now());
    const carrier = new CountingSim(new SimDriver(clock, sim));
    carriers.push(carrier);
    engines.push(
      new Engine(
        {
          db,
          clock,
          driver: carrier,
          content: new ContentPreparer(db, media),
          sms: new LogTransport(silentLogger),
          log: pino({ level: 'silent' }),
        },
        { owner: `${owner}-${i}`, leaseRealMs: 10_000, pollMs: 5, maxInFlight },
      ),
    );
  }
  return { engines, carriers };
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

export interface SeatGroupDb {
  db: Db;
  drop(): Promise<void>;
  group: SeatGroupRow;
  /** The group's SIP phone accounts (agents), offline until they register. */
  agents: SipAccountRow[];
}

/**
 * A fresh database with one account, one seat group `name` of it (ring strategy 1 unless told) and its SIP
 * phone accounts (5 called "softphone" unless told).
 */
export async function seatGroupDb(
  name: string,
  now: number,
  options: { strategy?: number; phoneName?: string; quantity?: number } = {},
): Promise<SeatGroupDb> {
  const { db, drop } = await testDb();
  const account = await newAccount(db);
  const group = (await insertSeatGroup(db, {
    accountId: account.accountId,
    appId: account.appId,
    name,
    strategy: options.strategy ?? 1,
    now,
  }))!;
  const agents = await insertSipAccounts(db, {
    group,
    phoneName: options.phoneName ?? 'softphone',
    displayNum: '',
    quantity: options.quantity ?? 5,
    now,
  });
  return { db, drop, group, agents };
}

export interface CallbackReceiver {
  /** An account's callbackUrl pointing here. */
  url: string;
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 standing in for a tenant's callback URL: `take` gets each request's JSON body
 * and says which status to answer (200 unless it says otherwise).
 */
export async function callbackReceiver(
  take: (body: unknown) => number | undefined,
): Promise<CallbackReceiver> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      response.writeHead(take(JSON.parse(body)) ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Envelope<T = unknown> {
  status: string;
  reason: string;
  code: string;
  msg: string;
  data: T;
}

/** A client's headers for a JSON request signed now (the compatible scheme). */
export function signedHeaders(account: { apiKey: string; apiSecret: string }): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'Api-Key': account.apiKey,
    Timestamp: timestamp,
    Sign: compatSign(account.apiKey, account.apiSecret, timestamp),
  };
}

/** Calls the API like a client: signed headers, JSON body, envelope back (asserting HTTP 200). */
export function apiClient(service: TestService, account: TestAccount) {
  return async function call<T = unknown>(
    path: string,
    body?: unknown,
    options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; remoteAddress?: string } = {},
  ): Promise<Envelope<T>> {
    const response = await service.ring.server.inject({
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      url: path,
      headers: { ...signedHeaders(account), ...options.headers },
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

/** A signed caller of the service's API, as `apiClient` returns it. */
export type ApiCall = ReturnType<typeof apiClient>;

export interface AccountClient {
  account: TestAccount;
  call: ApiCall;
  /** Sends a TTS group-call task of the account's app (see `taskSender`). */
  send: ReturnType<typeof taskSender>;
}

/** A new account on the service, with a signed client for it and a task sender: most tests' first step. */
export async function newAccountClient(
  service: TestService,
  overrides: Partial<NewAccount> = {},
): Promise<AccountClient> {
  const account = await newAccount(service.db, overrides);
  const call = apiClient(service, account);
  return { account, call, send: taskSender(call, account.appId) };
}

/** Every call record of a task, read through the API page by page. */
export async function taskRecords(call: ApiCall, taskId: number): Promise<CallRecord[]> {
  const out: CallRecord[] = [];
  for (let current = 1; ; current++) {
    const page = await call<{ records: CallRecord[]; pages: number }>('/voice/recordGroupQuery', {
      current,
      size: 100,
      params: { strTime: '2026-11-24T00:00:00Z', endTime: '2026-11-26T00:00:00Z', taskId },
    });
    expect(page.status, JSON.stringify(page)).toBe('0');
    out.push(...page.data.records);
    if (current >= page.data.pages) return out;
  }
}

/** Waits until the recall flow that task `taskId` started has completed (status 2); returns its detail. */
export async function completedRecallFlow<Detail extends { status: number }>(
  call: ApiCall,
  taskId: number,
  timeoutMs: number,
): Promise<Detail> {
  const page = await call<{ records: Array<{ keyId: number; taskId: number }> }>(
    '/voice/recallFlow/queryPage',
    { current: 1, size: 10, params: { taskName: String(taskId) } },
  );
  const keyId = page.data.records.find((r) => r.taskId === taskId)!.keyId;
  return waitFor(
    'the recall flow to complete',
    async () => {
      const detail = (await call<Detail>('/voice/recallFlow/queryDetail', { keyId })).data;
      return detail.status === 2 ? detail : null;
    },
    timeoutMs,
  );
}

/** Polls `probe` every `pollMs` until it gives a value, and returns it; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  pollMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

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
