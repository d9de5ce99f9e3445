/**
 * `npm run bench`: the service's hot paths, each beside a baseline measured in the same run on the same
 * database and reported as a ratio; every figure is taken BENCH_REPS times (default 3) and shown as
 * min / median / max. Runs on PGlite, and on PostgreSQL too when DATABASE_URL (or TEST_DATABASE_URL) is
 * set; the PostgreSQL medians go into bench/results/<date>.json.
 *   engine  — settled attempts/s of the whole engine (bench/engine.ts: `serve` processes, simulated
 *             carrier, clock ×1000, 20,000 callees) vs the bare lease-then-done loop (bench/baseline.ts);
 *             on PostgreSQL also 3 processes on one database, and PostgreSQL's CPU per attempt.
 *   ingest  — a 100,000-callee send through the API vs a raw COPY of the same rows (bench/ingest.ts),
 *             RSS it costs, and RSS a refused 300,000-callee body costs.
 *   api     — detail p50/p99 while the engine dials, and queryDetail requests/s vs bare Fastify
 *             (bench/api.ts).
 *   lease   — our lease alone vs the bare loop, and leasing beside 100,000 deferred callees
 *             (bench/lease.ts).
 */
import { loadavg } from 'node:os';
import { type Db, openDb } from '../src/db/db.ts';
import { benchApi } from './api.ts';
import { bareLeaseLoopRate } from './baseline.ts';
import { benchEngine, freshPostgres } from './engine.ts';
import { benchIngestIsolated } from './ingest.ts';
import { benchLease } from './lease.ts';
import { showSpread, spread, writeResults } from './results.ts';

const reps = Number(process.env.BENCH_REPS ?? 3);
const callees = Number(process.env.BENCH_ENGINE_CALLEES ?? 20_000);
const only = new Set((process.env.BENCH_ONLY ?? 'engine,ingest,api,lease').split(','));

async function repeat<T>(work: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < reps; i++) out.push(await work());
  return out;
}

const median = (values: number[]) => spread(values).median;

/** A database of its own for one measurement (PostgreSQL: created and dropped; PGlite: in memory). */
async function withDatabase<T>(postgresUrl: string | undefined, work: (db: Db) => Promise<T>): Promise<T> {
  const fresh = postgresUrl ? await freshPostgres(postgresUrl) : null;
  const db = await openDb(fresh ? { databaseUrl: fresh.url } : {});
  try {
    return await work(db);
  } finally {
    await db.close();
    await fresh?.drop();
  }
}

async function onDatabase(label: string, postgresUrl?: string) {
  const figures: Record<string, number> = {};
  console.log(
    `\n${label} — load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (only.has('engine')) {
    const runs = await repeat(async () => {
      const bare = await withDatabase(postgresUrl, (db) => bareLeaseLoopRate(db, callees));
      const one = await benchEngine({ ...(postgresUrl ? { postgresUrl } : {}), processes: 1, callees });
      const three = postgresUrl ? await benchEngine({ postgresUrl, processes: 3, callees }) : null;
      return { bare, one, three };
    });
    const ones = runs.map((r) => r.one.attemptsPerS);
    console.log(
      `  engine, 1 process, ${callees.toLocaleString('en-US')} callees: ${showSpread(spread(ones))} attempts/s; ` +
        `× the bare loop of the same repetition: ${showSpread(spread(runs.map((r) => r.one.attemptsPerS / r.bare)), 2)}` +
        ` (bare ${showSpread(spread(runs.map((r) => r.bare)))}/s)`,
    );
    figures.attemptsPerS = median(ones);
    if (postgresUrl) {
      const threes = runs.map((r) => r.three!.attemptsPerS);
      const cpu = runs.map((r) => r.three!.pgCpuMsPerAttempt!);
      console.log(
        `  engine, 3 processes on one database: ${showSpread(spread(threes))} attempts/s = ` +
          `${showSpread(spread(runs.map((r) => r.three!.attemptsPerS / r.one.attemptsPerS)), 2)}× 1 process; ` +
          `PostgreSQL CPU ${showSpread(spread(cpu), 3)} ms/attempt ` +
          `(1 process: ${showSpread(spread(runs.map((r) => r.one.pgCpuMsPerAttempt!)), 3)})`,
      );
      figures.attemptsPerS3Procs = median(threes);
      figures.pgCpuMsPerAttempt = median(cpu);
    }
  }
  if (only.has('ingest')) {
    const runs = await repeat(async () =>
      benchIngestIsolated(postgresUrl ? 'postgres' : 'pglite', postgresUrl),
    );
    console.log(
      `  ingest 100,000 callees through the API: ${showSpread(spread(runs.map((r) => r.create100kMs)))} ms = ` +
        `${showSpread(spread(runs.map((r) => r.ratio)), 2)}× the raw COPY of the same rows ` +
        `(${showSpread(spread(runs.map((r) => r.copyMs)))} ms); RSS +${showSpread(spread(runs.map((r) => r.rssMiB)))} MiB; ` +
        `a refused 300,000-callee body: RSS +${showSpread(spread(runs.map((r) => r.refused300kRssMiB)))} MiB`,
    );
    figures.create100kMs = median(runs.map((r) => r.create100kMs));
    figures.create100kCopyRatio = median(runs.map((r) => r.ratio));
  }
  if (only.has('api')) {
    const runs = await repeat(() => withDatabase(postgresUrl, (db) => benchApi(db)));
    console.log(
      `  detail while the engine dials: p50 ${showSpread(spread(runs.map((r) => r.detailP50MsDuringDial)), 1)} ms, ` +
        `p99 ${showSpread(spread(runs.map((r) => r.detailP99MsDuringDial)), 1)} ms`,
    );
    console.log(
      `  queryDetail, idle: ${showSpread(spread(runs.map((r) => r.queryDetailRps)))} requests/s = ` +
        `${showSpread(spread(runs.map((r) => r.queryDetailRpsRatio)), 3)}× bare Fastify ` +
        `(${showSpread(spread(runs.map((r) => r.bareFastifyRps)))}/s)`,
    );
    figures.detailP99MsDuringDial = median(runs.map((r) => r.detailP99MsDuringDial));
    figures.queryDetailRpsRatio = median(runs.map((r) => r.queryDetailRpsRatio));
  }
  if (only.has('lease')) {
    const runs = await repeat(() => withDatabase(postgresUrl, (db) => benchLease(db)));
    console.log(
      `  lease-then-done 20,000 calls (batches of 50): ours ${showSpread(spread(runs.map((r) => r.oursPerS)))}/s = ` +
        `${showSpread(spread(runs.map((r) => r.oursPerS / r.barePerS)), 2)}× the bare loop ` +
        `(${showSpread(spread(runs.map((r) => r.barePerS)))}/s)`,
    );
    console.log(
      `  deferral: leasing beside 100,000 deferred callees at ${showSpread(spread(runs.map((r) => r.deferralRatio)), 2)}× the rate without them`,
    );
  }
  return figures;
}

const pgUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
const lite = await onDatabase('PGlite (embedded)');
const results: Record<string, number> = Object.fromEntries(
  Object.entries(lite).map(([key, value]) => [`${key}Pglite`, value]),
);
if (pgUrl) {
  const figures = await onDatabase(`PostgreSQL (${new URL(pgUrl).host})`, pgUrl);
  Object.assign(results, figures);
}
console.log(`\nwritten to ${writeResults(results)}`);
process.exit(0);
