/**
 * The database connection drops while calls are in flight (a TCP proxy in front of PostgreSQL cuts every
 * connection and refuses new ones for a while, then lets them through again). Calls that end during
 * the outage are recorded once it is over; nothing is lost, nothing is dialled twice, nothing crashes.
 * PostgreSQL only: the embedded PGlite has no connection to cut.
 */

import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRingcast } from '../../src/app.ts';
import { ScaledClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/db.ts';
import { createMediaService } from '../../src/media/service.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from '../helpers/counting-sim.ts';
import { FaultyProxy } from '../helpers/faulty-proxy.ts';
import {
  apiClient,
  newAccount,
  numbers,
  testDb,
  usingPostgres,
  waitFor,
  withOverrides,
} from '../helpers/harness.ts';

describe.skipIf(!usingPostgres)('database outage (PostgreSQL only; PGlite is in-process)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('records every call once the database is back, with nothing lost or dialled twice', async () => {
    const created = await testDb();
    cleanups.push(created.drop);
    const url = new URL(created.url!);
    const proxy = new FaultyProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.start();
    cleanups.push(() => proxy.close());
    const proxied = new URL(created.url!);
    proxied.host = `127.0.0.1:${proxy.port}`;

    const clock = new ScaledClock(200, Date.now(), Date.parse('2026-11-25T02:00:00Z'));
    const carrier = new CountingSim(new SimDriver(clock, { seed: 'outage' }));
    const db = await openDb({ databaseUrl: proxied.toString(), poolSize: 5 });
    const ring = await createRingcast(
      withOverrides(loadConfig({}), {
        engine: { pollMs: 10, leaseRealMs: 20_000 },
        server: { logLevel: 'silent' },
      }),
      {
        db,
        clock,
        driver: carrier,
        media: createMediaService({ warmUp: false }),
        sms: new LogTransport(silentLogger),
        log: pino({ level: 'silent' }),
      },
    );
    cleanups.push(() => ring.close());
    ring.engine.start();
    const account = await newAccount(created.db, { maxConcurrency: 20, callsPerSecond: 50 });
    const call = apiClient({ ring, clock, db, close: async () => undefined }, account);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'outage',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: numbers(80, '3470000'),
    });
    expect(sent.status).toBe('0');

    await waitFor('calls in flight', async () => carrier.dialled.length >= 10);
    proxy.cut();
    await new Promise((r) => setTimeout(r, 2500));
    proxy.restore();

    await waitFor(
      'task finished after the outage',
      async () => {
        const [row] = await created.db.query<{ status: number }>('SELECT status FROM tasks WHERE id = $1', [
          sent.data,
        ]);
        return row?.status === 2;
      },
      90_000,
    );
    const rows = await created.db.query<{ id: number; state: string; reason: string | null }>(
      'SELECT id, state, termination_reason AS reason FROM calls WHERE task_id = $1',
      [sent.data],
    );
    expect(rows).toHaveLength(80);
    expect(rows.every((r) => r.state === 'done')).toBe(true);
    expect(new Set(carrier.dialled).size).toBe(carrier.dialled.length);
    expect(carrier.dialled.length).toBe(80);
    // The process was alive throughout, so none of its own calls was written off as interrupted.
    expect(rows.filter((r) => r.reason === 'interrupted')).toEqual([]);
  }, 150_000);

  it('answers -18 within the configured bound while the database is black-holed, then resumes with nothing lost or doubled', async () => {
    const created = await testDb();
    cleanups.push(created.drop);
    const url = new URL(created.url!);
    const proxy = new FaultyProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.start();
    cleanups.push(() => proxy.close());
    const proxied = new URL(created.url!);
    proxied.host = `127.0.0.1:${proxy.port}`;

    const timeouts = { connectMs: 1_000, queryMs: 1_500, idleInTransactionMs: 10_000 };
    const clock = new ScaledClock(200, Date.now(), Date.parse('2026-11-25T02:00:00Z'));
    const carrier = new CountingSim(new SimDriver(clock, { seed: 'blackhole' }));
    const db = await openDb({ databaseUrl: proxied.toString(), poolSize: 5, timeouts });
    const ring = await createRingcast(
      withOverrides(loadConfig({}), {
        engine: { pollMs: 10, leaseRealMs: 30_000 },
        server: { logLevel: 'silent' },
        db: { timeouts },
      }),
      {
        db,
        clock,
        driver: carrier,
        media: createMediaService({ warmUp: false }),
        sms: new LogTransport(silentLogger),
        log: pino({ level: 'silent' }),
      },
    );
    cleanups.push(() => ring.close());
    ring.engine.start();
    const account = await newAccount(created.db, { maxConcurrency: 20, callsPerSecond: 50 });
    const call = apiClient({ ring, clock, db, close: async () => undefined }, account);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'blackhole',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: numbers(80, '3470001'),
    });
    expect(sent.status).toBe('0');
    await waitFor('calls in flight', async () => carrier.dialled.length >= 10);

    proxy.blackhole();
    const bound = Math.max(timeouts.connectMs, timeouts.queryMs);
    const answers: Array<{ status: string; ms: number }> = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const answer = await call(`/voice/group/call/detail/${sent.data}`);
      answers.push({ status: answer.status, ms: Date.now() - started });
    }
    console.info(`black-holed database: API answers ${JSON.stringify(answers)} (bound ${bound} ms)`);
    for (const answer of answers) {
      expect(answer.status).toBe('-18');
      expect(answer.ms).toBeLessThan(bound + 1_000);
    }
    proxy.restore();

    await waitFor(
      'task finished after the black hole',
      async () => {
        const [row] = await created.db.query<{ status: number }>('SELECT status FROM tasks WHERE id = $1', [
          sent.data,
        ]);
        return row?.status === 2;
      },
      90_000,
    );
    const rows = await created.db.query<{ state: string; reason: string | null }>(
      'SELECT state, termination_reason AS reason FROM calls WHERE task_id = $1',
      [sent.data],
    );
    expect(rows).toHaveLength(80);
    expect(rows.every((r) => r.state === 'done')).toBe(true);
    expect(new Set(carrier.dialled).size).toBe(carrier.dialled.length);
    expect(carrier.dialled.length).toBe(80);
    expect(rows.filter((r) => r.reason === 'interrupted')).toEqual([]);
  }, 150_000);
});
