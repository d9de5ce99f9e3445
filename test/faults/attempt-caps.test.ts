/**
 * maxAttemptsPerNumber (spec §8) held exactly with several workers: three engines, each its own lease
 * owner, carrier and database connections, dial 20 tasks whose 10,000 callees share 500 numbers. No
 * number is dialled more than its cap, and every number reaches it (the cap is what stops the rest).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/db.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { CountingSim } from '../helpers/counting-sim.ts';
import type { TestService } from '../helpers/harness.ts';
import {
  newAccountClient,
  numbers,
  startService,
  usingPostgres,
  waitFor,
  workerEngines,
} from '../helpers/harness.ts';
import {
  httpApi,
  moreServeProcesses,
  type ServiceProcessKit,
  serviceProcessKit,
  tasksFinished,
} from '../helpers/service-process.ts';

const cap = { count: 3, days: 7 };
const shared = numbers(500, '3470000');
const taskCount = 20;

describe('attempt caps with several workers', () => {
  let service: TestService;
  let engines: Engine[] = [];
  let carriers: CountingSim[] = [];

  beforeAll(async () => {
    service = await startService({ start: false, clockSpeed: 500 });
    // Every call fails fast (invalid number): the test is about counting attempts, not call length.
    const rates = { answer: 0, busy: 0, 'no-answer': 0, voicemail: 0, unavailable: 0, invalid: 1 };
    ({ engines, carriers } = workerEngines(service, 3, 'capper', { seed: 'caps', rates }));
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.stopAndDrain()));
    await service?.close();
  });

  it('3 workers, 10,000 callees sharing 500 numbers: no number is dialled more than its cap', async () => {
    const { call, send } = await newAccountClient(service, {
      maxConcurrency: 150,
      callsPerSecond: 100_000,
    });
    expect((await call('/voice/account/callingRules', { maxAttemptsPerNumber: cap })).status).toBe('0');
    const taskIds: number[] = [];
    for (let t = 0; t < taskCount; t++)
      taskIds.push(await send({ taskName: `cap ${t}`, numberList: shared }));
    for (const engine of engines) engine.start();
    await waitFor(
      'all tasks finished',
      async () => {
        const [row] = await service.db.query<{ open: number }>(
          'SELECT count(*)::int AS open FROM tasks WHERE id = ANY($1::int[]) AND status <> 2',
          [taskIds],
        );
        return row?.open === 0;
      },
      240_000,
    );
    // What the carriers were asked to dial, per number.
    const dialled = carriers.flatMap((carrier) => carrier.dialled.map(Number));
    const rows = await service.db.query<{ id: number; callee: string; termination_reason: string }>(
      'SELECT id, callee, termination_reason FROM calls WHERE task_id = ANY($1::int[])',
      [taskIds],
    );
    const calleeOf = new Map(rows.map((row) => [row.id, row.callee]));
    const perNumber = new Map<string, number>();
    for (const id of dialled) perNumber.set(calleeOf.get(id)!, (perNumber.get(calleeOf.get(id)!) ?? 0) + 1);
    expect(new Set(dialled).size).toBe(dialled.length);
    expect(Math.max(...perNumber.values())).toBeLessThanOrEqual(cap.count);
    expect(perNumber.size).toBe(shared.length);
    expect([...perNumber.values()].every((n) => n === cap.count)).toBe(true);
    // Every other callee has a record saying why it was not dialled; the work was shared.
    expect(rows).toHaveLength(taskCount * shared.length);
    expect(rows.filter((row) => row.termination_reason === 'attempt_cap')).toHaveLength(
      taskCount * shared.length - shared.length * cap.count,
    );
    for (const carrier of carriers) expect(carrier.dialled.length).toBeGreaterThan(0);
  }, 300_000);
});

/**
 * The same with three service processes (`serve`) on one PostgreSQL database, each dialling with its own
 * simulated carrier, which writes every dial request to a shared log before the call starts. PGlite is
 * one process's database, so this part runs on PostgreSQL only (the in-process workers above run on both).
 */
describe.skipIf(!usingPostgres)('attempt caps with three service processes on PostgreSQL', () => {
  let kit: ServiceProcessKit | undefined;
  const others: ChildProcess[] = [];
  const logDir = mkdtempSync(join(tmpdir(), 'ringcast-caps-'));
  const dialLog = join(logDir, 'dials.log');
  afterAll(async () => {
    for (const child of others) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    await kit?.cleanup();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('3 processes, 10,000 callees sharing 500 numbers: the dial log shows no number over its cap', async () => {
    kit = await serviceProcessKit({
      POLL_MS: '20',
      SIM_RATES: 'answer=0,busy=0,no-answer=0,voicemail=0,unavailable=0,invalid=1',
      SIM_DIAL_LOG: dialLog,
      MAX_CALLS_PER_NODE: '50',
    });
    const created = JSON.parse(
      kit.cli(['account', 'create', '--name', 'caps', '--max-concurrency', '150', '--cps', '100000']),
    ) as { apiKey: string; apiSecret: string; appId: number };
    const rules = JSON.parse(
      kit.cli(['account', 'rules', created.apiKey, '--max-attempts', `${cap.count}/${cap.days}`]),
    ) as { maxAttemptsPerNumber: unknown };
    expect(rules.maxAttemptsPerNumber).toEqual(cap);
    kit.start();
    others.push(...(await moreServeProcesses(kit, created, 2, 'capper')));
    const api = httpApi(kit.port, created);
    const taskIds: number[] = [];
    for (let t = 0; t < taskCount; t++) {
      const sent = await api<number>('/voice/group/call/send', {
        appId: created.appId,
        taskName: `cap ${t}`,
        source: 3,
        lan: 'en',
        text: 'hello',
        numberList: shared,
      });
      expect(sent?.status, JSON.stringify(sent)).toBe('0');
      taskIds.push(sent!.data);
    }
    const db = await openDb({ databaseUrl: kit.env.DATABASE_URL! });
    try {
      await tasksFinished(db, taskIds, 240_000);
      const perNumber = new Map<string, number>();
      const lines = readFileSync(dialLog, 'utf8').trim().split('\n');
      for (const line of lines) {
        const to = line.split(' ')[1]!;
        perNumber.set(to, (perNumber.get(to) ?? 0) + 1);
      }
      expect(Math.max(...perNumber.values())).toBeLessThanOrEqual(cap.count);
      expect(perNumber.size).toBe(shared.length);
      expect(lines).toHaveLength(shared.length * cap.count);
      const [capped] = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = ANY($1::int[]) AND termination_reason = 'attempt_cap'",
        [taskIds],
      );
      expect(capped?.n).toBe(taskCount * shared.length - shared.length * cap.count);
    } finally {
      await db.close();
    }
  }, 400_000);
});
