/**
 * `npm run bench:records`: paging call records over 200,000 settled calls of one task, as the console's
 * records page does. Figures are ratios against page 1 measured in the same run on the same database:
 *   offset  — the last page by `current` (OFFSET 199,900);
 *   keyset  — the last page by `afterVoiceId`;
 *   count   — the total shown beside every page;
 *   no index — the same without migration 007's partial indexes on (task_id, id) and (account_id, id).
 * The table also holds 20 earlier campaigns of another account with as many settled calls in all (ids are
 * given at COPY time, so a task's records are one id range, and older campaigns' ranges lie before it).
 * Runs on PGlite, and on PostgreSQL too when DATABASE_URL (or TEST_DATABASE_URL) is set.
 */
import { type Db, openDb } from '../src/db/db.ts';
import { migrate } from '../src/db/migrate.ts';
import { createAccount } from '../src/db/queries/accounts.ts';
import { countRecords, type RecordFilter, recordPage } from '../src/db/queries/records.ts';
import { insertCallees, insertTask } from '../src/db/queries/tasks.ts';
import { settingDefaults, type TaskSettings } from '../src/domain/task-settings.ts';

const total = Number(process.env.BENCH_RECORDS ?? 200_000);
const size = 100;

async function median(work: () => Promise<unknown>, runs = 7): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

async function bench(label: string, db: Db) {
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;').catch(() => undefined);
  await migrate(db);
  const now = Date.now();
  const newAccount = (name: string) =>
    createAccount(
      db,
      {
        name,
        timeZone: 'UTC+8',
        ipAllowList: [],
        maxConcurrency: 10,
        callsPerSecond: 10,
        callbackUrl: null,
        requireHmac: false,
      },
      now,
    );
  const settings = { ...settingDefaults, source: 3, text: 'hi', lan: 'en' } as unknown as TaskSettings;
  const settledTask = async (owner: Awaited<ReturnType<typeof newAccount>>, name: string, count = total) => {
    const id = await db.transaction(async (tx) => {
      const created = await insertTask(tx, {
        accountId: owner.account.id,
        appId: owner.app.id,
        name,
        settings,
        sendTime: null,
        flowId: null,
        round: 0,
        sourceTaskId: null,
        now,
      });
      const callees = Array.from({ length: count }, (_, i) => ({
        callee: `86${13_000_000_000 + i}`,
        info: { text1: `name ${i}` },
      }));
      await insertCallees(tx, created, owner.account.id, callees);
      return created;
    });
    // Settle every call at once (what the dialer does one by one), one second apart.
    await db.query(
      `UPDATE calls SET state = 'done', call_time = to_timestamp($2 / 1000.0 + seq),
         hangup_time = to_timestamp($2 / 1000.0 + seq + 30), feedback_value = '-1', termination_code = 200,
         call_status = (ARRAY[10, 20, 30, 40, 50, 50, 50, 60])[1 + seq % 8]
       WHERE task_id = $1`,
      [id, now],
    );
    return id;
  };
  const earlier = await newAccount('earlier');
  for (let i = 0; i < 20; i++) await settledTask(earlier, `earlier campaign ${i}`, total / 20);
  const owner = await newAccount('bench');
  const { account } = owner;
  const taskId = await settledTask(owner, 'bench');
  await db.exec('VACUUM ANALYZE calls');
  const filter: RecordFilter = {
    accountId: account.id,
    from: null,
    to: null,
    taskId,
    sourceTaskId: null,
    round: null,
    callStatuses: null,
    feedbackValue: null,
    calleePrefix: null,
  };
  const [lastBefore] = await db.query<{ id: number }>(
    'SELECT id FROM calls WHERE task_id = $1 ORDER BY id OFFSET $2 LIMIT 1',
    [taskId, total - size - 1],
  );
  // One warm-up pass, so the first figure is not the cold one.
  await recordPage(db, filter, { limit: size, offset: 0 });
  await countRecords(db, filter);
  const measure = async () => ({
    first: await median(() => recordPage(db, filter, { limit: size, offset: 0 })),
    offset: await median(() => recordPage(db, filter, { limit: size, offset: total - size })),
    keyset: await median(() => recordPage(db, filter, { limit: size, afterId: lastBefore!.id })),
    count: await median(() => countRecords(db, filter)),
  });
  const indexed = await measure();
  await db.exec('DROP INDEX calls_task_done; DROP INDEX calls_account_done;');
  const bare = await measure();
  const ratio = (ms: number) => `${(ms / indexed.first).toFixed(1)}×`;
  console.log(`\n${label}: ${total.toLocaleString('en')} records of one task, pages of ${size}`);
  console.log(`  page 1 (baseline)           ${indexed.first.toFixed(1)} ms`);
  console.log(
    `  last page, keyset            ${ratio(indexed.keyset)} of page 1 (${indexed.keyset.toFixed(1)} ms)`,
  );
  console.log(`  last page, OFFSET            ${ratio(indexed.offset)} (${indexed.offset.toFixed(1)} ms)`);
  console.log(`  total (count)                ${ratio(indexed.count)} (${indexed.count.toFixed(1)} ms)`);
  console.log('  without the 007 indexes:');
  console.log(`    page 1                     ${ratio(bare.first)} (${bare.first.toFixed(1)} ms)`);
  console.log(`    last page, keyset          ${ratio(bare.keyset)} (${bare.keyset.toFixed(1)} ms)`);
  console.log(`    last page, OFFSET          ${ratio(bare.offset)} (${bare.offset.toFixed(1)} ms)`);
  console.log(`    total (count)              ${ratio(bare.count)} (${bare.count.toFixed(1)} ms)`);
}

const pglite = await openDb({});
await bench('PGlite', pglite);
await pglite.close();
const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (url) {
  const pg = await openDb({ databaseUrl: url });
  await bench('PostgreSQL', pg);
  await pg.close();
}
