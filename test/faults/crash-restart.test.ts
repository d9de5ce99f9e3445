/**
 * Kills the service with SIGKILL at random moments while a task and its recall flow run, restarts it,
 * and checks the rule of spec §6: every callee due in a round ends that round with exactly one attempt
 * record, nobody is dialled twice in a round (counted at the carrier), and the flow completes.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/db.ts';
import { compatSign } from '../../src/domain/sign.ts';
import { numbers, testDb, usingPostgres } from '../helpers/harness.ts';

import { seededRandom } from '../helpers/random.ts';
import { dialsLogged } from '../helpers/service-process.ts';

const root = join(import.meta.dirname, '..', '..');
// `node --import tsx` runs the service in this very process (the tsx CLI would fork a child that a
// SIGKILL of the parent leaves running).
const nodeArgs = ['--import', 'tsx', 'src/cli.ts'];

const random = seededRandom('crash-restart kill points');
function randomBetween(low: number, high: number): number {
  return low + random() * (high - low);
}

describe('crash safety (SIGKILL at random points)', () => {
  const work = mkdtempSync(join(tmpdir(), 'ringcast-crash-'));
  const dialLog = join(work, 'dials.log');
  const port = 19_000 + Math.floor(random() * 2000);
  let child: ChildProcess | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  afterAll(async () => {
    child?.kill('SIGKILL');
    await dropDb?.();
    rmSync(work, { recursive: true, force: true });
  });

  it('dials every callee exactly once per round across kills and restarts, and the flow completes', async () => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      CLOCK_SPEED: '30',
      CLOCK_ANCHOR: String(Date.now()),
      CLOCK_START: String(Date.parse('2026-11-25T02:00:00Z')),
      LEASE_MS: '1500',
      POLL_MS: '20',
      SIM_SEED: 'crash',
      SIM_DIAL_LOG: dialLog,
      LOG_LEVEL: 'error',
    };
    if (usingPostgres) {
      const created = await testDb();
      await created.db.close();
      env.DATABASE_URL = created.url!;
      dropDb = created.drop;
    } else {
      env.DATA_DIR = join(work, 'pglite');
    }
    const cli = (args: string[]) =>
      execFileSync(process.execPath, [...nodeArgs, ...args], { cwd: root, env });
    const account = JSON.parse(
      cli(['account', 'create', '--name', 'crash', '--max-concurrency', '12', '--cps', '6']).toString(),
    ) as { apiKey: string; apiSecret: string; appId: number };

    const start = () => {
      child = spawn(process.execPath, [...nodeArgs, 'serve'], { cwd: root, env, stdio: 'ignore' });
    };
    const api = async <T>(path: string, body: unknown): Promise<{ status: string; data: T } | null> => {
      const ts = String(Math.floor(Date.now() / 1000));
      try {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'Api-Key': account.apiKey,
            Timestamp: ts,
            Sign: compatSign(account.apiKey, account.apiSecret, ts),
          },
          body: JSON.stringify(body),
        });
        return (await response.json()) as { status: string; data: T };
      } catch {
        return null; // not up (yet)
      }
    };
    const until = async <T>(
      what: string,
      probe: () => Promise<T | null | undefined | false>,
      ms = 60_000,
    ) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    start();
    const list = numbers(40, '4915100');
    const sent = await until('service up and task sent', () =>
      api<number>('/voice/group/call/send', {
        appId: account.appId,
        taskName: 'crash test',
        source: 3,
        text: 'Your parcel arrives today',
        lan: 'en',
        maxRingingTime: 20,
        numberList: list,
        recallFlow: { recallInterval: 1, recallNum: 2, recallType: 0 },
      }),
    );
    expect(sent.status).toBe('0');
    const taskId = sent.data;

    const dialsSoFar = () => dialsLogged(dialLog);
    let kills = 0;
    for (let round = 0; round < 5; round++) {
      // Kill while calls are in flight: just after new dials went out, at a random moment.
      const before = dialsSoFar();
      const busy = await until('new dials', async () => dialsSoFar() >= before + 3, 15_000).catch(
        () => false,
      );
      if (!busy) break;
      await new Promise((r) => setTimeout(r, randomBetween(0, 400)));
      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      kills++;
      start();
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const flow = await until(
      'flow to complete',
      async () => {
        const page = await api<{ records: Array<{ taskId: number; status: number; finishNum: number }> }>(
          '/voice/recallFlow/queryPage',
          { current: 1, size: 10 },
        );
        const record = page?.data?.records.find((r) => r.taskId === taskId);
        return record && record.status === 2 ? record : null;
      },
      120_000,
    );
    expect(flow.finishNum).toBe(2);
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;

    const db = await openDb(usingPostgres ? { databaseUrl: env.DATABASE_URL! } : { dataDir: env.DATA_DIR! });
    try {
      const tasks = await db.query<{ id: number; round: number }>(
        'SELECT id, round FROM tasks WHERE id = $1 OR source_task_id = $1 ORDER BY round',
        [taskId],
      );
      expect(tasks.map((t) => t.round)).toEqual([0, 1, 2]);
      const calls = await db.query<{
        id: number;
        task_id: number;
        callee: string;
        state: string;
        reason: string | null;
      }>('SELECT id, task_id, callee, state, termination_reason AS reason FROM calls ORDER BY id');
      const dials = readFileSync(dialLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]!);
      const dialCount = new Map<string, number>();
      for (const id of dials) dialCount.set(id, (dialCount.get(id) ?? 0) + 1);
      for (const task of tasks) {
        const rows = calls.filter((c) => c.task_id === task.id);
        // Every callee due in the round has exactly one settled attempt…
        expect(rows.map((c) => c.callee).sort(), `round ${task.round}`).toEqual([...list].sort());
        expect(
          rows.every((c) => c.state === 'done'),
          `round ${task.round} all settled`,
        ).toBe(true);
        // …and the carrier was asked at most once for it; only an attempt that was interrupted before
        // the carrier was asked may show no dial at all.
        for (const row of rows) {
          const count = dialCount.get(String(row.id)) ?? 0;
          expect(count, `call ${row.id} dialled ${count} times`).toBeLessThanOrEqual(1);
          if (count === 0) expect(row.reason).toBe('interrupted');
        }
      }
      expect([...dialCount.values()].every((n) => n === 1)).toBe(true);
      const interrupted = calls.filter((c) => c.reason === 'interrupted').length;
      console.info(
        `crash test: ${kills} kills, ${dials.length} dials, ${calls.length} attempts, ${interrupted} interrupted`,
      );
      // Calls were in flight at each kill, so some attempts must have been recovered as interrupted.
      expect(interrupted).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 240_000);
});
