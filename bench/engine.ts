/**
 * The whole engine's settled attempts per second: N `serve` processes (the real CLI, simulated carrier,
 * clock ×1000) dial one task of `callees` callees sent through the API, timed from the send's answer to
 * the "task finished" log line; PostgreSQL's CPU (every `postgres` process's user+system time from /proc)
 * is sampled over the same span. After the run the records are checked: every callee dialled once, and
 * the task's counters equal to the records — a fast run that loses or double-counts is no result.
 * Run alone: `npx tsx bench/engine.ts` (PGlite; and PostgreSQL with DATABASE_URL or TEST_DATABASE_URL).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDb } from '../src/db/db.ts';
import { CallStatus } from '../src/domain/outcome.ts';
import { signedHeaders } from './fixtures.ts';

const root = join(import.meta.dirname, '..');
const nodeArgs = ['--import', 'tsx', 'src/cli.ts'];
const clockSpeed = 1000;
const trace = (what: string) => {
  if (process.env.BENCH_VERBOSE) console.error(`[bench engine] ${what}`);
};

export interface EngineRun {
  processes: number;
  callees: number;
  seconds: number;
  attemptsPerS: number;
  /** PostgreSQL CPU ms per settled attempt (PostgreSQL only). */
  pgCpuMsPerAttempt: number | null;
}

/** user+system CPU ms of every process named `postgres` (server and backends), from /proc. */
function postgresCpuMs(): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks / ticksPerSecond) * 1000;
}

export async function freshPostgres(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ringcast_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

function waitFor(child: ChildProcess, pattern: RegExp, what: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match[0]);
      }
      if (seen.length > 1_000_000) seen = seen.slice(-10_000);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`a serve process exited (${code}) before ${what}`)));
  });
}

export async function benchEngine(args: {
  postgresUrl?: string;
  processes: number;
  callees: number;
}): Promise<EngineRun> {
  const work = mkdtempSync(join(tmpdir(), 'ringcast-bench-engine-'));
  const database = args.postgresUrl ? await freshPostgres(args.postgresUrl) : null;
  const basePort = 21_000 + Math.floor(Math.random() * 2_000);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    CLOCK_SPEED: String(clockSpeed),
    CLOCK_ANCHOR: String(Date.now()),
    // Midday in the account's zone (UTC+8): inside any calling window.
    CLOCK_START: String(Date.parse('2026-12-01T04:00:00Z')),
    LOG_LEVEL: 'info',
    TELEPHONY_DRIVER: 'sim',
    MAX_CALLS_PER_NODE: '500',
    ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: join(work, 'pglite') }),
  };
  delete env.TEST_DATABASE_URL;
  // The PGlite run must not inherit the PostgreSQL URL `npm run bench` was started with.
  if (!database) delete env.DATABASE_URL;
  const children: ChildProcess[] = [];
  try {
    const account = JSON.parse(
      execFileSync(
        process.execPath,
        [
          ...nodeArgs,
          'account',
          'create',
          '--name',
          'bench',
          '--max-concurrency',
          '100000',
          '--cps',
          '100000',
        ],
        { cwd: root, env },
      ).toString(),
    ) as { apiKey: string; apiSecret: string; appId: number };
    trace('account created');
    for (let i = 0; i < args.processes; i++) {
      const child = spawn(process.execPath, [...nodeArgs, 'serve'], {
        cwd: root,
        env: { ...env, PORT: String(basePort + i), NODE_ID: `bench-${i}` },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await waitFor(child, /Ringcast listening/, 'the service to listen', 60_000);
    }
    trace('services up');
    const numberInfoList = Array.from({ length: args.callees }, (_, i) => ({
      calleeNumber: `86${13_000_000_000 + i}`,
    }));
    const response = await fetch(`http://127.0.0.1:${basePort}/voice/group/call/send`, {
      method: 'POST',
      headers: signedHeaders(account.apiKey, account.apiSecret),
      body: JSON.stringify({
        appId: account.appId,
        taskName: 'bench engine',
        source: 3,
        text: 'This is the benchmark speaking.',
        lan: 'en',
        numberInfoList,
      }),
    });
    const sent = (await response.json()) as { status: string; reason: string; data: number };
    if (sent.status !== '0') throw new Error(`send failed: ${sent.reason}`);
    trace(`task ${sent.data} sent`);
    const cpuBefore = database ? postgresCpuMs() : 0;
    const started = performance.now();
    const finished = new RegExp(`"taskId":${sent.data},[^\\n]*"msg":"task finished"`);
    await Promise.race(children.map((child) => waitFor(child, finished, 'the task to finish', 600_000)));
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = database ? postgresCpuMs() - cpuBefore : 0;
    await Promise.all(children.map((child) => stop(child)));
    children.length = 0;
    await checkRecords(database?.url, join(work, 'pglite'), sent.data, args.callees);
    return {
      processes: args.processes,
      callees: args.callees,
      seconds,
      attemptsPerS: args.callees / seconds,
      pgCpuMsPerAttempt: database ? cpuMs / args.callees : null,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await database?.drop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Every callee settled exactly once, and the task's counters equal to its records. */
async function checkRecords(
  databaseUrl: string | undefined,
  dataDir: string,
  taskId: number,
  callees: number,
): Promise<void> {
  const db = await openDb(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    const [records] = await db.query<{ done: number; answered: number; other: number }>(
      `SELECT count(*) FILTER (WHERE state = 'done')::int AS done,
         count(*) FILTER (WHERE state = 'done' AND call_status = ${CallStatus.answered})::int AS answered,
         count(*) FILTER (WHERE state <> 'done')::int AS other
       FROM calls WHERE task_id = $1`,
      [taskId],
    );
    const [counters] = await db.query<{ call_num: number; success: number }>(
      'SELECT call_num, success FROM tasks_counted WHERE id = $1',
      [taskId],
    );
    if (records?.done !== callees || records.other !== 0)
      throw new Error(`records: ${JSON.stringify(records)} for ${callees} callees`);
    if (counters?.call_num !== records.done || counters.success !== records.answered)
      throw new Error(`counters ${JSON.stringify(counters)} differ from records ${JSON.stringify(records)}`);
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const callees = Number(process.env.BENCH_ENGINE_CALLEES ?? 20_000);
  const pgUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  const show = (label: string, run: EngineRun) =>
    console.log(
      `${label}: ${run.processes} process(es), ${run.callees} callees in ${run.seconds.toFixed(2)} s = ` +
        `${Math.round(run.attemptsPerS)} attempts/s` +
        (run.pgCpuMsPerAttempt === null
          ? ''
          : `, PostgreSQL CPU ${run.pgCpuMsPerAttempt.toFixed(3)} ms/attempt`),
    );
  show('PGlite', await benchEngine({ processes: 1, callees }));
  if (pgUrl) {
    show('PostgreSQL', await benchEngine({ postgresUrl: pgUrl, processes: 1, callees }));
    show('PostgreSQL', await benchEngine({ postgresUrl: pgUrl, processes: 3, callees }));
  }
}
