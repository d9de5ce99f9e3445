/**
 * API responsiveness (issue 16), over a real listening socket:
 *
 *   (a) `GET /voice/group/call/detail/{id}` latency, p50 and p99, while the full engine dials a
 *       20,000-callee task on the simulated carrier (clock ×1000);
 *   (b) the most requests/s `POST /voice/recallFlow/queryDetail` answers for one task's flow with the
 *       engine idle, beside a bare Fastify server answering a fixed JSON of the same size, both driven by
 *       the same autocannon client (in a worker thread, so it does not share the servers' event loop)
 *       with the same connections, in the same run.
 *
 * `benchApi(db)` runs on a database it is given (migrating it; it leaves it open). Run directly
 * (`npx tsx bench/api.ts`) it measures PGlite, and PostgreSQL too when DATABASE_URL or
 * TEST_DATABASE_URL is set (in a fresh database of that server, dropped afterwards).
 */

import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { createRingcast } from '../src/app.ts';
import { ScaledClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { type Db, openDb } from '../src/db/db.ts';
import { TaskStatus } from '../src/domain/task-status.ts';
import { createMediaService } from '../src/media/service.ts';
import { LogTransport } from '../src/sms/log-transport.ts';
import { silentLogger } from '../src/sms/logger.ts';
import { SimDriver } from '../src/telephony/sim/sim-driver.ts';
import { benchAccount, signedHeaders } from './fixtures.ts';

export interface ApiBenchFigures {
  detailP50MsDuringDial: number;
  detailP99MsDuringDial: number;
  queryDetailRps: number;
  bareFastifyRps: number;
  queryDetailRpsRatio: number;
}

const dialCallees = 20_000;
/** autocannon: connections and seconds of each rate measurement (after a short warm-up). */
const loadConnections = 50;
const loadSeconds = 8;
const warmUpSeconds = 2;
/** Pause between detail requests while the campaign dials: a console polling, not a load test. */
const detailEveryMs = 5;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Envelope<T> {
  status: string;
  reason: string;
  data: T;
}

/** Requests/s autocannon gets from one URL (warm-up discarded); throws on any error or non-2xx. */
async function maxRps(options: {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}): Promise<number> {
  const run = (duration: number) =>
    autocannon({ ...options, connections: loadConnections, duration, workers: 1 });
  await run(warmUpSeconds);
  const result = await run(loadSeconds);
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0)
    throw new Error(
      `${options.url}: ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`,
    );
  return result.requests.average;
}

export async function benchApi(db: Db): Promise<ApiBenchFigures> {
  // The clock starts at 10:00 in the account's zone (UTC+8), well inside any calling hours.
  const clock = new ScaledClock(1000, Date.now(), Date.parse('2026-11-25T02:00:00Z'));
  // The service's defaults (POLL_MS 200 as `serve` runs): an idle engine polling every 20 ms took a fifth
  // of the queryDetail rate measured beside it.
  const config = loadConfig({ LOG_LEVEL: 'silent', CALLBACK_ALLOW_PRIVATE: '1' });
  const media = createMediaService({ warmUp: false });
  const sms = new LogTransport(silentLogger);
  const ring = await createRingcast(config, {
    db,
    clock,
    media,
    driver: new SimDriver(clock, { seed: 'bench-api' }),
    sms,
    log: pino({ level: 'silent' }),
  });
  try {
    const { account, app } = await benchAccount(db, 'bench-api', clock.now());
    const address = await ring.server.listen({ host: '127.0.0.1', port: 0 });
    const call = async <T>(path: string, body?: unknown): Promise<Envelope<T>> => {
      const response = await fetch(`${address}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: signedHeaders(account.api_key, account.api_secret),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const envelope = (await response.json()) as Envelope<T>;
      if (envelope.status !== '0') throw new Error(`${path}: ${envelope.status} ${envelope.reason}`);
      return envelope;
    };

    // (a) detail while the engine dials 20,000 callees.
    const numberList = Array.from({ length: dialCallees }, (_, i) => `86138${String(i).padStart(8, '0')}`);
    const sent = await call<number>('/voice/group/call/send', {
      appId: app.id,
      taskName: 'bench dial',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList,
    });
    const taskId = sent.data;
    ring.engine.start();
    const latencies: number[] = [];
    const deadline = performance.now() + 600_000;
    for (;;) {
      const started = performance.now();
      const detail = await call<{ status: number; callNum: number }>(`/voice/group/call/detail/${taskId}`);
      const ms = performance.now() - started;
      if (detail.data.status !== TaskStatus.calling && detail.data.status !== TaskStatus.waiting) break;
      if (detail.data.callNum > 0) latencies.push(ms);
      if (performance.now() > deadline)
        throw new Error('the 20,000-callee task did not finish in 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, detailEveryMs));
    }
    latencies.sort((a, b) => a - b);

    // (b) queryDetail of one task's flow, engine idle (the task waits for a sendTime years ahead).
    await call('/voice/group/call/send', {
      appId: app.id,
      taskName: 'bench flow',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: ['8613900000001'],
      sendTime: '2099-01-01 00:00:00',
      recallFlow: {
        recallInterval: 5,
        recallNum: 3,
        recallType: 0,
        nodeList: [{ source: 3, text: 'again', lan: 'en' }],
      },
    });
    const flows = await call<{ records: Array<{ keyId: number }> }>('/voice/recallFlow/queryPage', {
      current: 1,
      size: 1,
      params: { taskName: 'bench flow' },
    });
    const keyId = flows.data.records[0]?.keyId;
    if (keyId === undefined) throw new Error('the bench flow was not created');
    const queryDetailBody = JSON.stringify({ keyId });
    const answer = await fetch(`${address}/voice/recallFlow/queryDetail`, {
      method: 'POST',
      headers: signedHeaders(account.api_key, account.api_secret),
      body: queryDetailBody,
    });
    const answerText = await answer.text();
    const queryDetailRps = await maxRps({
      url: `${address}/voice/recallFlow/queryDetail`,
      method: 'POST',
      headers: signedHeaders(account.api_key, account.api_secret),
      body: queryDetailBody,
    });

    const bare = Fastify();
    const fixed: unknown = JSON.parse(answerText);
    bare.post('/fixed', async () => fixed);
    const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareFastifyRps = await maxRps({
      url: `${bareAddress}/fixed`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: queryDetailBody,
    }).finally(() => bare.close());

    return {
      detailP50MsDuringDial: percentile(latencies, 50),
      detailP99MsDuringDial: percentile(latencies, 99),
      queryDetailRps,
      bareFastifyRps,
      queryDetailRpsRatio: queryDetailRps / bareFastifyRps,
    };
  } finally {
    // Not ring.close(): the database belongs to the caller.
    await ring.server.close();
    await ring.engine.stopAndDrain(0);
    await ring.driver.close();
    await sms.close();
    await media.close();
    if (ring.apiDb !== db) await ring.apiDb.close();
  }
}

function print(label: string, figures: ApiBenchFigures, samples?: string): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const rps = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;
  console.log(`\n${label}${samples ?? ''}`);
  console.log(
    `  detail during a ${dialCallees.toLocaleString('en-US')}-callee dial: p50 ${ms(figures.detailP50MsDuringDial)}, p99 ${ms(figures.detailP99MsDuringDial)} (target p99 < 50 ms)`,
  );
  console.log(
    `  queryDetail ${rps(figures.queryDetailRps)} vs bare Fastify ${rps(figures.bareFastifyRps)} → ${figures.queryDetailRpsRatio.toFixed(2)}× (target ≥ 0.25×)`,
  );
}

async function main(): Promise<void> {
  const { loadavg } = await import('node:os');
  const load = () =>
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`;
  console.log(`bench:api, ${load()}`);
  const lite = await openDb({});
  try {
    print('PGlite (embedded, in memory)', await benchApi(lite), ` — after: ${load()}`);
  } finally {
    await lite.close();
  }
  const serverUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!serverUrl) return;
  // A database of its own on that server, so nothing else there is touched.
  const name = `ringcast_bench_api_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pgDb = await openDb({ databaseUrl: url.toString() });
  try {
    print(`PostgreSQL (${url.host})`, await benchApi(pgDb), ` — after: ${load()}`);
  } finally {
    await pgDb.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  process.exit(0);
}
