/**
 * Settling in batches (issue 16) keeps spec §6 exact:
 * - SIGKILL while results wait in a batch (a wide 300 ms batch window, kills at seeded random moments)
 *   and, on PostgreSQL, inside a batch's open transaction (held on a lock between its statements): after
 *   restarts every callee has exactly one record, the carrier was asked at most once per callee, and the
 *   task's counters equal its records.
 * - Three settlers on one 5,000-callee task (three `serve` processes on PostgreSQL; on PGlite, which one
 *   process owns, three engines on one database): the counters equal the records.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/db.ts';
import { countersAndRecords } from '../helpers/counters.ts';
import {
  apiClient,
  newAccount,
  numbers,
  startService,
  usingPostgres,
  workerEngines,
} from '../helpers/harness.ts';
import { seededRandom } from '../helpers/random.ts';
import {
  dialsLogged,
  httpApi,
  moreServeProcesses,
  type ServiceProcessKit,
  serviceProcessKit,
  tasksFinished,
  until,
} from '../helpers/service-process.ts';

const random = seededRandom('batch-settle kill points');

describe('batched settling under SIGKILL', () => {
  let kit: ServiceProcessKit | undefined;
  afterEach(async () => {
    await kit?.cleanup();
    kit = undefined;
  });

  it('leaves one record per callee, no second dial, and counters equal to the records', async () => {
    const callees = 1_500;
    kit = await serviceProcessKit({
      CLOCK_SPEED: '200',
      CLOCK_START: String(Date.parse('2026-12-01T04:00:00Z')),
      LEASE_MS: '1500',
      POLL_MS: '20',
      SETTLE_BATCH_MS: '300',
      SETTLE_BATCH_MAX: '5000',
      SIM_SEED: 'batch-settle',
    });
    const dialLog = join(kit.work, 'dials.log');
    kit.env.SIM_DIAL_LOG = dialLog;
    const account = JSON.parse(
      kit.cli(['account', 'create', '--name', 'batches', '--max-concurrency', '60', '--cps', '100000']),
    ) as { apiKey: string; apiSecret: string; appId: number };
    const api = httpApi(kit.port, account);
    const list = numbers(callees, '4917100');
    kit.start();
    const sent = await until(
      'service up and task sent',
      () =>
        api<number>('/voice/group/call/send', {
          appId: account.appId,
          taskName: 'batch kills',
          source: 3,
          text: 'Your parcel arrives today',
          lan: 'en',
          numberList: list,
        }),
      180_000,
    );
    expect(sent.status, sent.reason).toBe('0');
    const taskId = sent.data;
    const dials = () => dialsLogged(dialLog);

    let kills = 0;
    // On PostgreSQL: one kill inside a batch's transaction, held between its UPDATE of the calls and
    // its counter upsert by a lock on task_counts.
    if (usingPostgres) {
      await until('first dials', async () => dials() >= 20, 60_000);
      const locker = new pg.Client({ connectionString: kit.env.DATABASE_URL });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE task_counts IN EXCLUSIVE MODE');
        await until(
          'a settle batch waiting inside its transaction',
          async () => {
            // Inside a transaction pg_stat_activity is a snapshot taken once: drop it to see what is now.
            await locker.query('SELECT pg_stat_clear_snapshot()');
            const { rows } = await locker.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO task_counts%'`,
            );
            return (rows[0]?.n ?? 0) > 0;
          },
          30_000,
        );
        await kit.stop('SIGKILL');
        kills++;
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end();
      }
      kit.start();
    }
    // Kills at random moments while calls are in flight and results wait in a batch.
    for (let i = 0; i < 3; i++) {
      const before = dials();
      const busy = await until('new dials', async () => dials() >= before + 10, 60_000).catch(() => false);
      if (!busy) break;
      await new Promise((r) => setTimeout(r, 50 + random() * 400));
      await kit.stop('SIGKILL');
      kills++;
      kit.start();
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    await until(
      'task finished',
      async () => (await api<{ status: number }>(`/voice/group/call/detail/${taskId}`))?.data?.status === 2,
      180_000,
    );
    await kit.stop('SIGTERM');

    const db = await openDb(
      usingPostgres ? { databaseUrl: kit.env.DATABASE_URL! } : { dataDir: kit.env.DATA_DIR! },
    );
    try {
      const calls = await db.query<{ id: number; callee: string; state: string; reason: string | null }>(
        'SELECT id, callee, state, termination_reason AS reason FROM calls WHERE task_id = $1',
        [taskId],
      );
      expect(calls.map((c) => c.callee).sort()).toEqual([...list].sort());
      expect(calls.filter((c) => c.state !== 'done')).toEqual([]);
      const dialled = new Map<string, number>();
      for (const line of readFileSync(dialLog, 'utf8').trim().split('\n')) {
        const id = line.split(' ')[0]!;
        dialled.set(id, (dialled.get(id) ?? 0) + 1);
      }
      for (const call of calls) {
        const times = dialled.get(String(call.id)) ?? 0;
        expect(times, `call ${call.id} dialled ${times} times`).toBeLessThanOrEqual(1);
        if (times === 0) expect(call.reason).toBe('interrupted');
      }
      const { counters, records } = await countersAndRecords(db, taskId);
      expect(counters).toEqual(records);
      expect(counters.call_num).toBe(callees);
      // Results were waiting in batches (or in an open batch transaction) at each kill.
      expect(calls.filter((c) => c.reason === 'interrupted').length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 400_000);
});

describe('three settlers on one task', () => {
  const children: ChildProcess[] = [];
  let kit: ServiceProcessKit | undefined;
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await kit?.cleanup();
    kit = undefined;
  });
  const task = (numberList: string[]) => ({
    taskName: 'three settlers',
    source: 3,
    text: 'hello',
    lan: 'en',
    numberList,
  });

  it.runIf(usingPostgres)(
    '3 serve processes, 5,000 callees: counters equal the records',
    async () => {
      kit = await serviceProcessKit({
        CLOCK_SPEED: '1000',
        CLOCK_START: String(Date.parse('2026-12-01T04:00:00Z')),
        MAX_CALLS_PER_NODE: '100',
      });
      const account = JSON.parse(
        kit.cli(['account', 'create', '--name', 'three', '--max-concurrency', '300', '--cps', '100000']),
      ) as { apiKey: string; apiSecret: string; appId: number };
      kit.start();
      children.push(...(await moreServeProcesses(kit, account, 2, 'settler')));
      const sent = await httpApi(kit.port, account)<number>('/voice/group/call/send', {
        appId: account.appId,
        ...task(numbers(5_000, '4917200')),
      });
      expect(sent?.status, JSON.stringify(sent)).toBe('0');
      const db = await openDb({ databaseUrl: kit.env.DATABASE_URL! });
      try {
        await tasksFinished(db, [sent!.data], 240_000);
        const { counters, records } = await countersAndRecords(db, sent!.data);
        expect(counters).toEqual(records);
        expect(counters.call_num).toBe(5_000);
        // The counters really were spread over several rows (no single hot row).
        const [shards] = await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM task_counts WHERE task_id = $1',
          [sent!.data],
        );
        expect(shards!.n).toBeGreaterThan(1);
      } finally {
        await db.close();
      }
    },
    400_000,
  );

  it.runIf(!usingPostgres)(
    '3 engines on one PGlite database, 5,000 callees: counters equal the records',
    async () => {
      const service = await startService({ start: false, clockSpeed: 1000 });
      const { engines } = workerEngines(service, 3, 'settler', { seed: 'settlers' }, 100);
      try {
        const account = await newAccount(service.db, { maxConcurrency: 300, callsPerSecond: 100_000 });
        const sent = await apiClient(service, account)<number>('/voice/group/call/send', {
          appId: account.appId,
          ...task(numbers(5_000, '4917200')),
        });
        for (const engine of engines) engine.start();
        await tasksFinished(service.db, [sent.data], 240_000);
        const { counters, records } = await countersAndRecords(service.db, sent.data);
        expect(counters).toEqual(records);
        expect(counters.call_num).toBe(5_000);
      } finally {
        await Promise.all(engines.map((engine) => engine.stopAndDrain()));
        await service.close();
      }
    },
    400_000,
  );
});
