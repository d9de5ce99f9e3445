/**
 * The connection drops around a lease, at the two moments that used to lose callees (a CI run caught the
 * first as a task that never finished after a database outage):
 *  - the hand-over fails after the lease took the task's last due calls: the calls are given back, and
 *    the task must be woken for them (it had nothing left to lease), or it neither dials nor finishes;
 *  - the lease commits but its answer is lost: its calls sit leased to this process, which never saw
 *    them; they must be given back and dialled, not written off as interrupted when the lease expires.
 * Each callee must be dialled exactly once. The faults are injected by a FaultyDb in front of the real
 * database (both PGlite and PostgreSQL), and each test checks its fault really struck.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
import { type FaultPoint, FaultyDb } from '../helpers/faulty-db.ts';
import {
  newAccountClient,
  numbers,
  startService,
  type TestService,
  waitFor,
  workerEngines,
} from '../helpers/harness.ts';

describe('a connection lost around a lease', () => {
  let service: TestService | undefined;
  let engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.stopAndDrain()));
    await service?.close();
  });

  /** Sends five callees (one lease takes them all) to one engine whose database fails once as told. */
  async function dialThroughFault(pattern: RegExp, point: FaultPoint, prefix: string) {
    service = await startService({ start: false, clockSpeed: 500 });
    const faulty = new FaultyDb(service.db);
    const fault = faulty.failNext(pattern, point);
    const workers = workerEngines(service, 1, 'lost', { seed: prefix }, 20, faulty);
    engines = workers.engines;
    const { account, call } = await newAccountClient(service, { maxConcurrency: 20, callsPerSecond: 100 });
    const callees = numbers(5, prefix);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'lost',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: callees,
    });
    expect(sent.status).toBe('0');
    engines[0]!.start();
    await waitFor(
      'task finished',
      async () => {
        const [row] = await service!.db.query<{ status: number }>('SELECT status FROM tasks WHERE id = $1', [
          sent.data,
        ]);
        return row?.status === 2;
      },
      30_000,
    );
    expect(fault.fired()).toBe(true);
    const rows = await service.db.query<{ callee: string; reason: string | null }>(
      'SELECT callee, termination_reason AS reason FROM calls WHERE task_id = $1 ORDER BY callee',
      [sent.data],
    );
    expect(rows.filter((row) => row.reason === 'interrupted')).toEqual([]);
    const dialled = workers.carriers[0]!.dialled;
    expect(dialled).toHaveLength(callees.length);
    expect(new Set(dialled).size).toBe(callees.length);
  }

  it('the hand-over fails after the lease emptied the task: the calls are given back, dialled once, and the task finishes', async () => {
    // The hand-over's do-not-call lock is its first statement after the task check.
    await dialThroughFault(/pg_advisory_xact_lock_shared/, 'instead', '3480000');
  }, 60_000);

  it('the lease commits but its answer is lost: its calls are given back and dialled once, not written off', async () => {
    await dialThroughFault(/SET state = 'dialling'/, 'after-commit', '3480001');
  }, 60_000);
});
