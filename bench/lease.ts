/**
 * Leasing alone, beside the bare loop on the same database in the same run:
 *   lease    — lease-then-done of 20,000 due calls in batches of 50: our lease (account lock, in-flight
 *              count, pacing budget, attempt committed as 'dialling') vs bench/baseline.ts's bare loop.
 *   deferral — the same lease-then-done of 20,000 callable callees of a windowZone "callee" task, without
 *              and with 100,000 more callees of that task deferred outside their window (spec §8): the
 *              deferred ones sit past the lease's range of the due index, so they should cost nothing.
 */
import { ScaledClock } from '../src/clock.ts';
import type { Db } from '../src/db/db.ts';
import { migrate } from '../src/db/migrate.ts';
import { leaseCalls } from '../src/db/queries/lease-calls.ts';
import { insertTask } from '../src/db/queries/tasks.ts';
import { settingDefaults, type TaskSettings } from '../src/domain/task-settings.ts';
import { bareLeaseLoopRate } from './baseline.ts';
import { benchAccount } from './fixtures.ts';

const leaseRows = 20_000;
const deferredRows = 100_000;

export interface LeaseFigures {
  oursPerS: number;
  barePerS: number;
  deferralRatio: number;
}

export async function benchLease(db: Db): Promise<LeaseFigures> {
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;').catch(() => undefined);
  await migrate(db);
  const clock = new ScaledClock(1);
  const { account, app } = await benchAccount(db, 'bench lease', clock.now());
  /** A calling task of `callable` due callees (and `deferred` more outside their window). */
  const dueTask = async (
    name: string,
    settings: Partial<TaskSettings>,
    callable: number,
    deferred: number,
  ) => {
    const id = await insertTask(db, {
      accountId: account.id,
      appId: app.id,
      name,
      settings: { ...settingDefaults, source: 3, text: 'hi', lan: 'en', allowSendTime: [], ...settings },
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
      [id, account.id, callable, callable + deferred, new Date(clock.now() + 86_400_000)],
    );
    await db.query('UPDATE tasks SET status = 1, next_dial_at = $2, num_cnt = $3 WHERE id = $1', [
      id,
      new Date(clock.now() - 1_000),
      callable + deferred,
    ]);
    await db.exec('ANALYZE calls');
    return id;
  };
  const leaseLoop = async (taskId: number, rows: number) => {
    const started = performance.now();
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
    await db.query('UPDATE tasks SET status = 2, next_dial_at = NULL WHERE id = $1', [taskId]);
    return leased / ((performance.now() - started) / 1000);
  };

  const plain = await dueTask('bench lease', {}, leaseRows, 0);
  const oursPerS = await leaseLoop(plain, leaseRows);
  const barePerS = await bareLeaseLoopRate(db, leaseRows);
  const alone = await dueTask('bench callable only', { windowZone: 'callee' }, leaseRows, 0);
  const aloneRate = await leaseLoop(alone, leaseRows);
  const beside = await dueTask('bench with deferred', { windowZone: 'callee' }, leaseRows, deferredRows);
  const besideRate = await leaseLoop(beside, leaseRows);
  return { oursPerS, barePerS, deferralRatio: besideRate / aloneRate };
}
