/**
 * Several dialer processes share one database: leases must never hand the same call to two of them.
 * Three engines (each its own lease owner and carrier) run one task together; every callee is dialled
 * exactly once and the work is spread across them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
import type { CountingSim } from '../helpers/counting-sim.ts';
import type { TestService } from '../helpers/harness.ts';
import { newAccountClient, numbers, startService, waitFor, workerEngines } from '../helpers/harness.ts';

describe('several workers on one database', () => {
  let service: TestService;
  let engines: Engine[] = [];
  let carriers: CountingSim[] = [];

  beforeAll(async () => {
    // The service's own engine is not started: three independent engines do the dialling.
    service = await startService({ start: false, clockSpeed: 500 });
    ({ engines, carriers } = workerEngines(service, 3, 'worker', { seed: 'workers' }));
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.stopAndDrain()));
    await service?.close();
  });

  it('dials every callee exactly once between them, each worker taking a share', async () => {
    const { account, call } = await newAccountClient(service, { maxConcurrency: 60, callsPerSecond: 200 });
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
