/**
 * Ingest benchmark (issue 16): POST /voice/group/call/send with 100,000 callees (text1..text10) end to
 * end over a real socket vs a raw COPY of the same rows into a bare table in the same run; the process's
 * RSS growth during that send; and the RSS growth while a 300,000-callee body is refused (-23).
 * `benchIngest(db)` is for bench/run.ts; `npx tsx bench/ingest.ts` runs it on PGlite and, when
 * DATABASE_URL or TEST_DATABASE_URL is set, on PostgreSQL (in a database of its own, dropped after),
 * each in a fresh process. RSS growth includes V8 growing its heap for short-lived garbage, which it
 * keeps committed: read it as an upper bound of what the request holds.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import pino from 'pino';
import { buildServer } from '../src/api/server.ts';
import { ScaledClock } from '../src/clock.ts';
import { defaultQuotas } from '../src/config.ts';
import { type Db, openDb } from '../src/db/db.ts';
import { migrate } from '../src/db/migrate.ts';
import { calleeTextColumns } from '../src/db/queries/callee-info.ts';
import { createMediaService } from '../src/media/service.ts';
import { benchAccount, signedHeaders } from './fixtures.ts';

export interface IngestFigures {
  create100kMs: number;
  copyMs: number;
  ratio: number;
  rssMiB: number;
  refused300kRssMiB: number;
}

const mib = 1024 * 1024;

// A full collection before each baseline, so the figures measure the request and not earlier garbage.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function calleeRow(i: number): Record<string, string> {
  const row: Record<string, string> = { calleeNumber: `86${String(13_000_000_000 + i)}` };
  for (let t = 1; t <= 10; t++) row[`text${t}`] = `value ${t} for ${i}`.slice(0, 30);
  return row;
}

/**
 * A send body of `n` callees, written row by row into one Buffer outside the JS heap: building it as an
 * array of objects first would grow the heap before the baseline and hide the request's own growth.
 */
function sendBody(fields: Record<string, unknown>, n: number): Buffer {
  const head = JSON.stringify({ ...fields, numberInfoList: [] }).slice(0, -2);
  const rowBytes = Buffer.byteLength(JSON.stringify(calleeRow(n))) + 1;
  const body = Buffer.allocUnsafe(head.length + n * rowBytes + 2);
  let at = body.write(head);
  for (let i = 0; i < n; i++) at += body.write(`${i === 0 ? '' : ','}${JSON.stringify(calleeRow(i))}`, at);
  at += body.write(']}', at);
  return body.subarray(0, at);
}

/** Highest RSS growth over `baseline` while `work` runs, sampled every 5 ms. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<[number, T]> {
  collect();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return [(peak - baseline) / mib, result];
  } finally {
    clearInterval(sampler);
  }
}

/** POSTs `body` over a socket; resolves with the answer even when the server stops reading early. */
function post(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    // A refused body is answered and the connection closed before all of it is written.
    req.on('error', (error) => (req.writableFinished ? undefined : reject(error)));
    req.end(body);
  });
}

/**
 * `parts` leaves a measurement out (NaN): run each in a fresh process for RSS figures that no earlier
 * measurement flattered (V8 keeps the heap an earlier one grew). Together, the refused body goes first.
 */
export async function benchIngest(
  db: Db,
  parts: { refused: boolean; send: boolean } = { refused: true, send: true },
): Promise<IngestFigures> {
  await migrate(db);
  const clock = new ScaledClock(1);
  const media = createMediaService({ warmUp: false });
  const server = await buildServer({
    db,
    clock,
    media,
    log: pino({ level: 'silent' }),
    trustProxy: false,
    quotas: defaultQuotas,
  });
  const { account, app } = await benchAccount(db, 'bench ingest', clock.now());
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as { port: number };
  const headers = () => signedHeaders(account.api_key, account.api_secret);
  const task = (taskName: string) => ({
    appId: app.id,
    taskName,
    source: 3,
    text: 'hello ${text1}',
    lan: 'en',
    sendTime: '2099-01-01 00:00:00',
  });
  try {
    // The refused body first, then the send, then the COPY baseline (whose rows are built as objects).
    let refused300kRssMiB = Number.NaN;
    if (parts.refused) {
      let refusedBody: Buffer | null = sendBody(task('bench refused'), 300_000);
      const [growth, refused] = await peakRssGrowth(() =>
        post(port, '/voice/group/call/send', headers(), refusedBody!),
      );
      refusedBody = null;
      if ((JSON.parse(refused) as { status: string }).status !== '-23')
        throw new Error(`300,000 callees not refused: ${refused}`);
      refused300kRssMiB = growth;
    }
    if (!parts.send) {
      const none = Number.NaN;
      return { create100kMs: none, copyMs: none, ratio: none, rssMiB: none, refused300kRssMiB };
    }

    const body = sendBody(task('bench 100k'), 100_000);
    const sendStart = performance.now();
    const [rssMiB, answer] = await peakRssGrowth(() => post(port, '/voice/group/call/send', headers(), body));
    const create100kMs = performance.now() - sendStart;
    const sent = JSON.parse(answer) as { status: string; reason: string };
    if (sent.status !== '0') throw new Error(`send failed: ${sent.reason}`);

    // Baseline: raw COPY of the same values into a bare table, in this run, on this database.
    const list = Array.from({ length: 100_000 }, (_, i) => calleeRow(i));
    await db.exec('DROP TABLE IF EXISTS bench_ingest_copy');
    await db.exec(
      `CREATE TABLE bench_ingest_copy (callee text, ${calleeTextColumns.map((c) => `${c} text`).join(', ')})`,
    );
    const copyStart = performance.now();
    await db.transaction((tx) =>
      tx.copyRows(
        'bench_ingest_copy',
        ['callee', ...calleeTextColumns],
        list.map((r) => [r.calleeNumber!, ...calleeTextColumns.map((c) => r[c] ?? null)]),
      ),
    );
    const copyMs = performance.now() - copyStart;
    await db.exec('DROP TABLE bench_ingest_copy');
    return { create100kMs, copyMs, ratio: create100kMs / copyMs, rssMiB, refused300kRssMiB };
  } finally {
    await server.close();
    await media.close();
  }
}

function print(label: string, f: IngestFigures) {
  console.log(`\n${label}`);
  console.log(
    `  100,000 callees: API send ${f.create100kMs.toFixed(0)} ms vs raw COPY ${f.copyMs.toFixed(0)} ms → ${f.ratio.toFixed(2)}× (target ≤ 2×)`,
  );
  console.log(`  RSS growth during the send: ${f.rssMiB.toFixed(1)} MiB (target ≤ 60)`);
  console.log(`  RSS growth refusing 300,000 callees: ${f.refused300kRssMiB.toFixed(1)} MiB (target ≤ 20)`);
}

export type Target = 'pglite' | 'postgres';
type Part = 'refused' | 'send';

/** One database and one measurement per process: RSS growth means something only in a fresh heap. */
async function runOne(target: Target, part: Part, serverUrl: string | undefined): Promise<IngestFigures> {
  const parts = { refused: part === 'refused', send: part === 'send' };
  if (target === 'pglite') {
    const lite = await openDb({});
    try {
      return await benchIngest(lite, parts);
    } finally {
      await lite.close();
    }
  }
  // A database of its own: the figures are not skewed by earlier runs' rows, nobody else's is touched.
  const name = `ringcast_bench_ingest_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: url.toString() });
  try {
    return await benchIngest(db, parts);
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const self = new URL(import.meta.url).pathname;

/**
 * Both measurements on one database, each in a fresh child process (RSS growth means something only in
 * a fresh heap): the send of 100,000 callees, and the refused 300,000-callee body.
 */
export function benchIngestIsolated(target: Target, serverUrl?: string): IngestFigures {
  const figures = (['refused', 'send'] as const).map((part) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', self], {
      env: {
        ...process.env,
        BENCH_INGEST_ONLY: `${target}:${part}`,
        ...(serverUrl ? { DATABASE_URL: serverUrl } : {}),
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`bench ${target} ${part} failed`);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as IngestFigures;
  });
  return { ...figures[1]!, refused300kRssMiB: figures[0]!.refused300kRssMiB };
}

if (process.argv[1] === self) {
  const serverUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  const only = process.env.BENCH_INGEST_ONLY?.split(':') as [Target, Part] | undefined;
  if (only) {
    // A child: its figures go back to the parent as the last line of its output.
    console.log(JSON.stringify(await runOne(only[0], only[1], serverUrl)));
  } else {
    const targets: Target[] = serverUrl ? ['pglite', 'postgres'] : ['pglite'];
    for (const target of targets) {
      const label =
        target === 'pglite'
          ? 'PGlite (embedded, in memory; its WebAssembly heap counts in the RSS)'
          : `PostgreSQL (${new URL(serverUrl!).host})`;
      print(label, benchIngestIsolated(target, serverUrl));
    }
  }
  process.exit();
}
