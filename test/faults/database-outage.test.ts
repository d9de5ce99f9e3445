/**
 * The database connection drops while calls are in flight (a TCP proxy in front of PostgreSQL cuts every
 * connection and refuses new ones for a while, then lets them through again). Calls that end during
 * the outage are recorded once it is over; nothing is lost, nothing is dialled twice, nothing crashes.
 * Repeated short cuts land at random moments, around leases, hand-overs and settles (where a lost lease
 * answer once skipped callees and a failed hand-over once left a task unfinished for ever).
 * PostgreSQL only: the embedded PGlite has no connection to cut.
 */

import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRingcast } from '../../src/app.ts';
import { ScaledClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { type DbTimeouts, openDb } from '../../src/db/db.ts';
import { createMediaService } from '../../src/media/service.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from '../helpers/counting-sim.ts';
import { proxiedTestDb } from '../helpers/faulty-proxy.ts';
import { apiClient, newAccount, numbers, usingPostgres, waitFor, withOverrides } from '../helpers/harness.ts';
import { seededRandom } from '../helpers/random.ts';

describe.skipIf(!usingPostgres)('database outage (PostgreSQL only; PGlite is in-process)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /**
   * A service whose database connections go through a FaultyProxy, dialling an 80-number task `name`;
   * returns once 10 calls are in flight.
   */
  async function taskInFlight(name: string, prefix: string, leaseRealMs: number, timeouts?: DbTimeouts) {
    const { created, proxy, url } = await proxiedTestDb(cleanups);
    const clock = new ScaledClock(200, Date.now(), Date.parse('2026-11-25T02:00:00Z'));
    const carrier = new CountingSim(new SimDriver(clock, { seed: name }));
    const db = await openDb({ databaseUrl: url, poolSize: 5, ...(timeouts ? { timeouts } : {}) });
    const ring = await createRingcast(
      withOverrides(loadConfig({}), {
        engine: { pollMs: 10, leaseRealMs },
        server: { logLevel: 'silent' },
        ...(timeouts ? { db: { timeouts } } : {}),
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
      taskName: name,
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: numbers(80, prefix),
    });
    expect(sent.status).toBe('0');
    await waitFor('calls in flight', async () => carrier.dialled.length >= 10);
    return { created, proxy, carrier, call, taskId: sent.data };
  }

  /** Once the task has finished: every call recorded once, each dialled once, none written off. */
  async function expectNothingLostOrDoubled(
    { created, carrier, taskId }: Awaited<ReturnType<typeof taskInFlight>>,
    what: string,
  ) {
    await waitFor(
      `task finished after the ${what}`,
      async () => {
        const [row] = await created.db.query<{ status: number }>('SELECT status FROM tasks WHERE id = $1', [
          taskId,
        ]);
        return row?.status === 2;
      },
      90_000,
    );
    const rows = await created.db.query<{ state: string; reason: string | null }>(
      'SELECT state, termination_reason AS reason FROM calls WHERE task_id = $1',
      [taskId],
    );
    expect(rows).toHaveLength(80);
    expect(rows.every((r) => r.state === 'done')).toBe(true);
    expect(new Set(carrier.dialled).size).toBe(carrier.dialled.length);
    expect(carrier.dialled.length).toBe(80);
    // The process was alive throughout, so none of its own calls was written off as interrupted.
    expect(rows.filter((r) => r.reason === 'interrupted')).toEqual([]);
  }

  it('records every call once the database is back, with nothing lost or dialled twice', async () => {
    const inFlight = await taskInFlight('outage', '3470000', 20_000);
    inFlight.proxy.cut();
    await new Promise((r) => setTimeout(r, 2500));
    inFlight.proxy.restore();
    await expectNothingLostOrDoubled(inFlight, 'outage');
  }, 150_000);

  it('survives six short cuts at random moments (around leases, hand-overs and settles) with nothing lost or dialled twice', async () => {
    const random = seededRandom('database outage, repeated cuts');
    const inFlight = await taskInFlight('cuts', '3470002', 20_000);
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, random() * 300));
      inFlight.proxy.cut();
      await new Promise((r) => setTimeout(r, random() * 600));
      inFlight.proxy.restore();
    }
    await expectNothingLostOrDoubled(inFlight, 'cuts');
  }, 150_000);

  it('answers -18 within the configured bound while the database is black-holed, then resumes with nothing lost or doubled', async () => {
    const timeouts = { connectMs: 1_000, queryMs: 1_500, idleInTransactionMs: 10_000 };
    const inFlight = await taskInFlight('blackhole', '3470001', 30_000, timeouts);
    const { proxy, call, taskId } = inFlight;

    proxy.blackhole();
    const bound = Math.max(timeouts.connectMs, timeouts.queryMs);
    const answers: Array<{ status: string; ms: number }> = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const answer = await call(`/voice/group/call/detail/${taskId}`);
      answers.push({ status: answer.status, ms: Date.now() - started });
    }
    console.info(`black-holed database: API answers ${JSON.stringify(answers)} (bound ${bound} ms)`);
    for (const answer of answers) {
      expect(answer.status).toBe('-18');
      expect(answer.ms).toBeLessThan(bound + 1_000);
    }
    proxy.restore();
    await expectNothingLostOrDoubled(inFlight, 'black hole');
  }, 150_000);
});
