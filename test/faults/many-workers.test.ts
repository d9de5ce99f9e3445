/**
 * Several dialer processes share one database: leases must never hand the same call to two of them.
 * Three engines (each its own lease owner and carrier) run one task together; every callee is dialled
 * exactly once and the work is spread across them.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import { ContentPreparer } from '../../src/engine/content.ts';
import { Engine } from '../../src/engine/engine.ts';
import { createMediaService } from '../../src/media/service.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from '../helpers/counting-sim.ts';
import {
  apiClient,
  newAccount,
  numbers,
  startService,
  type TestService,
  waitFor,
} from '../helpers/harness.ts';

describe('several workers on one database', () => {
  let service: TestService;
  const engines: Engine[] = [];
  const carriers: CountingSim[] = [];

  beforeAll(async () => {
    // The service's own engine is not started: three independent engines do the dialling.
    service = await startService({ start: false, clockSpeed: 500 });
    const media = createMediaService({ warmUp: false });
    for (let i = 0; i < 3; i++) {
      const clock = new ScaledClock(500, Date.now(), service.clock.now());
      const carrier = new CountingSim(new SimDriver(clock, { seed: 'workers' }));
      carriers.push(carrier);
      const engine = new Engine(
        {
          db: service.db,
          clock,
          driver: carrier,
          content: new ContentPreparer(service.db, media),
          sms: new LogTransport(silentLogger),
          log: pino({ level: 'silent' }),
        },
        { owner: `worker-${i}`, leaseRealMs: 10_000, pollMs: 5, maxInFlight: 20 },
      );
      engines.push(engine);
    }
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.stopAndDrain()));
    await service?.close();
  });

  it('dials every callee exactly once between them, each worker taking a share', async () => {
    const account = await newAccount(service.db, { maxConcurrency: 60, callsPerSecond: 200 });
    const call = apiClient(service, account);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'shared',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: numbers(300, '3460000'),
    });
    for (const engine of engines) engine.start();
    await waitFor(
      'task finished',
      async () => {
        const [row] = await service.db.query<{ status: number }>('SELECT status FROM tasks WHERE id = $1', [
          sent.data,
        ]);
        return row?.status === 2;
      },
      90_000,
    );
    const all = carriers.flatMap((carrier) => carrier.dialled);
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    for (const carrier of carriers) expect(carrier.dialled.length).toBeGreaterThan(0);
    const [counts] = await service.db.query<{ done: number; calls: number }>(
      "SELECT count(*) FILTER (WHERE state = 'done')::int AS done, count(*)::int AS calls FROM calls WHERE task_id = $1",
      [sent.data],
    );
    expect(counts).toEqual({ done: 300, calls: 300 });
  }, 120_000);
});
