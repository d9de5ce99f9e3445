/**
 * `npm run bench`: the service's hot database paths, each beside a baseline measured in the same run on
 * the same database, reported as a ratio.
 *   ingest — POST /voice/group/call/send with 100,000 callees (text1..text10), end to end through the
 *            API (parse, validate, de-duplicate, COPY into the indexed calls table) vs a raw COPY of the
 *            same rows into an unindexed table.
 *   lease  — lease-then-done of 20,000 due calls in batches of 50: our lease (account lock, in-flight
 *            count, pacing budget, attempt committed as 'dialling') vs a bare UPDATE … FOR UPDATE SKIP
 *            LOCKED loop on a copy of the same ids.
 *   deferral — the same lease-then-done of 20,000 callable callees of a windowZone "callee" task, without
 *            and with 100,000 more callees of that task deferred outside their window (spec §8): the
 *            deferred ones sit past the lease's range of the due index, so they should cost nothing.
 * Runs on PGlite, and on PostgreSQL too when DATABASE_URL (or TEST_DATABASE_URL) is set.
 */
import pino from 'pino';
import { buildServer } from '../src/api/server.ts';
import { ScaledClock } from '../src/clock.ts';
import { defaultQuotas } from '../src/config.ts';
import { type Db, openDb } from '../src/db/db.ts';
import { migrate } from '../src/db/migrate.ts';
import { createAccount } from '../src/db/queries/accounts.ts';
import { calleeTextColumns } from '../src/db/queries/callee-info.ts';
import { leaseCalls } from '../src/db/queries/lease-calls.ts';
import { insertTask } from '../src/db/queries/tasks.ts';
import { compatSign } from '../src/domain/sign.ts';
import { settingDefaults } from '../src/domain/task-settings.ts';
import { createMediaService } from '../src/media/service.ts';

const ingestRows = Number(process.env.BENCH_ROWS ?? 100_000);
const leaseRows = 20_000;
const deferredRows = 100_000;

function rows(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const info: Record<string, string> = { calleeNumber: `86${String(13_000_000_000 + i)}` };
    for (let t = 1; t <= 10; t++) info[`text${t}`] = `value ${t} for ${i}`.slice(0, 30);
    return info;
  });
}

async function time<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [(performance.now() - start) / 1000, result];
}

async function bench(label: string, db: Db) {
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;').catch(() => undefined);
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
  const { account, app } = await createAccount(
    db,
    {
      name: 'bench',
      timeZone: 'UTC+8',
      ipAllowList: [],
      maxConcurrency: 1_000_000,
      callsPerSecond: 1_000_000,
      callbackUrl: null,
      requireHmac: false,
    },
    clock.now(),
  );
  const list = rows(ingestRows);

  // Baseline: raw COPY of the same values into a bare table.
  await db.exec(
    `CREATE TABLE bench_copy (callee text, ${calleeTextColumns.map((c) => `${c} text`).join(', ')})`,
  );
  const [copySeconds] = await time(() =>
    db.transaction((tx) =>
      tx.copyRows(
        'bench_copy',
        ['callee', ...calleeTextColumns],
        list.map((r) => [r.calleeNumber!, ...calleeTextColumns.map((c) => r[c] ?? null)]),
      ),
    ),
  );
  const payload = JSON.stringify({
    appId: app.id,
    taskName: 'bench ingest',
    source: 3,
    text: 'hello ${text1}',
    lan: 'en',
    sendTime: '2099-01-01 00:00:00',
    numberInfoList: list,
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const [apiSeconds, response] = await time(() =>
    server.inject({
      method: 'POST',
      url: '/voice/group/call/send',
      headers: {
        'content-type': 'application/json',
        'Api-Key': account.api_key,
        Timestamp: ts,
        Sign: compatSign(account.api_key, account.api_secret, ts),
      },
      payload,
    }),
  );
  const body = response.json() as { status: string; reason: string };
  if (body.status !== '0') throw new Error(`send failed: ${body.reason}`);

  // Lease: a task of due calls, leased by us vs by a bare SKIP LOCKED loop on a copy.
  await db.query(
    "UPDATE tasks SET status = 1, next_dial_at = now() - interval '1 day' WHERE name = 'bench ingest'",
  );
  await db.exec(
    // A fair baseline: a primary key like calls has, so the bare loop's UPDATE finds rows by index.
    `CREATE TABLE bench_jobs AS SELECT id, 'due'::text AS state, NULL::text AS owner FROM calls LIMIT ${leaseRows};
     ALTER TABLE bench_jobs ADD PRIMARY KEY (id);
     CREATE INDEX ON bench_jobs (id) WHERE state = 'due';`,
  );
  const [rawSeconds, rawCount] = await time(async () => {
    let leased = 0;
    for (;;) {
      const got = await db.query<{ id: number }>(
        `UPDATE bench_jobs SET state = 'leased', owner = 'w' WHERE id IN (
           SELECT id FROM bench_jobs WHERE state = 'due' ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING id`,
      );
      if (got.length === 0) return leased;
      await db.query("UPDATE bench_jobs SET state = 'done' WHERE id = ANY($1::int[])", [
        got.map((r) => r.id),
      ]);
      leased += got.length;
    }
  });
  const leaseLoop = async (rows: number) => {
    let leased = 0;
    while (leased < rows) {
      const { calls: got } = await leaseCalls(db, {
        accountId: account.id,
        owner: 'bench',
        now: clock.now(),
        leaseMs: 60_000,
        max: 50,
      });
      if (got.length === 0) break;
      await db.query("UPDATE calls SET state = 'done' WHERE id = ANY($1::int[])", [got.map((r) => r.id)]);
      leased += got.length;
    }
    return leased;
  };
  const [oursSeconds, oursCount] = await time(() => leaseLoop(leaseRows));

  // Deferral: a windowZone "callee" task of 20,000 callable callees, without and with 100,000 deferred.
  await db.query("UPDATE tasks SET status = 2, next_dial_at = NULL WHERE name = 'bench ingest'");
  const deferredTask = async (name: string, deferred: number) => {
    const id = await insertTask(db, {
      accountId: account.id,
      appId: app.id,
      name,
      settings: {
        ...settingDefaults,
        source: 3,
        text: 'hi',
        lan: 'en',
        windowZone: 'callee',
        allowSendTime: [],
      },
      sendTime: null,
      flowId: null,
      round: 0,
      sourceTaskId: null,
      now: clock.now(),
    });
    await db.query(
      `INSERT INTO calls (task_id, account_id, seq, callee, callee_zone, not_before, defer_reason)
       SELECT $1, $2, g, '1212' || lpad(g::text, 7, '0'), 'America/New_York',
         CASE WHEN g < $3 THEN '-infinity'::timestamptz ELSE $5::timestamptz END,
         CASE WHEN g < $3 THEN NULL ELSE 'window' END
       FROM generate_series(0, $4 - 1) AS g`,
      [id, account.id, leaseRows, leaseRows + deferred, new Date(clock.now() + 86_400_000)],
    );
    await db.query('UPDATE tasks SET status = 1, next_dial_at = $2 WHERE id = $1', [
      id,
      new Date(clock.now() - 1_000),
    ]);
    await db.exec('ANALYZE calls');
  };
  await deferredTask('bench callable only', 0);
  const [plainSeconds, plainCount] = await time(() => leaseLoop(leaseRows));
  await deferredTask('bench with deferred', deferredRows);
  const [withSeconds, withCount] = await time(() => leaseLoop(leaseRows));
  await server.close();
  await media.close();

  const perSecond = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
  console.log(`\n${label}`);
  console.log(
    `  ingest ${ingestRows.toLocaleString('en-US')} callees: API send ${apiSeconds.toFixed(2)} s vs raw COPY ${copySeconds.toFixed(2)} s` +
      ` → ${(apiSeconds / copySeconds).toFixed(1)}× the COPY time`,
  );
  console.log(
    `  lease-then-done ${oursCount.toLocaleString('en-US')} calls (batches of 50): ours ${perSecond(oursCount, oursSeconds)}/s vs bare SKIP LOCKED ${perSecond(rawCount, rawSeconds)}/s` +
      ` → ${(oursCount / oursSeconds / (rawCount / rawSeconds)).toFixed(2)}× the baseline rate`,
  );
  console.log(
    `  deferral: lease-then-done ${plainCount.toLocaleString('en-US')} callable callees: ${perSecond(plainCount, plainSeconds)}/s alone vs ` +
      `${perSecond(withCount, withSeconds)}/s beside ${deferredRows.toLocaleString('en-US')} deferred` +
      ` → ${(withCount / withSeconds / (plainCount / plainSeconds)).toFixed(2)}× the rate without them`,
  );
}

const pgUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
const lite = await openDb({});
await bench('PGlite (embedded, in memory)', lite);
await lite.close();
if (pgUrl) {
  const pgDb = await openDb({ databaseUrl: pgUrl });
  await bench(`PostgreSQL (${new URL(pgUrl).host})`, pgDb);
  await pgDb.close();
}
process.exit(0);
