/**
 * Settling a call can fail. A permanent error (here a constraint the row breaks) is not retried: it is
 * logged and the attempt left to the lease sweep, which settles it as interrupted. A transient error
 * that never clears is retried only until the shutdown grace is over: shutdown does not hang on it.
 * The failures are injected with a trigger, counted with a sequence (which a rollback does not undo).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { newAccountClient, startService, type TestService, taskSender, waitFor } from '../helpers/harness.ts';

/** A trigger failing the live settle of `callee` with SQLSTATE `code`, counting each try. */
async function failSettlesOf(
  service: TestService,
  callee: string,
  code: string,
): Promise<() => Promise<number>> {
  const name = `fail_${code}`;
  await service.db.exec(`
    CREATE SEQUENCE ${name}_tries;
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.state = 'done' AND NEW.callee = '${callee}' AND NEW.termination_reason IS DISTINCT FROM 'interrupted' THEN
        PERFORM nextval('${name}_tries');
        RAISE EXCEPTION 'settle refused for the test' USING ERRCODE = '${code}';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE UPDATE ON calls FOR EACH ROW EXECUTE FUNCTION ${name}();
  `);
  return async () => {
    const [row] = await service.db.query<{ n: number }>(
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM ${name}_tries`,
    );
    return row!.n;
  };
}

describe('settle errors', () => {
  const services: TestService[] = [];
  afterAll(async () => {
    for (const service of services) await service.close().catch(() => undefined);
  });

  it('a permanent error is tried once, then the lease sweep settles the attempt as interrupted', async () => {
    const callee = '4450100000001';
    const service = await startService({
      clockSpeed: 1000,
      leaseRealMs: 1_000,
      sim: { overrides: { [callee]: { kind: 'answer', ringMs: 100, listenMs: 100 } } },
    });
    services.push(service);
    const tries = await failSettlesOf(service, callee, '23514');
    const { account, call } = await newAccountClient(service);
    const taskId = await taskSender(call, account.appId)({ taskName: 'permanent', numberList: [callee] });
    const t0 = Date.now();
    const row = await waitFor('the attempt settled by the sweep', async () => {
      const [r] = await service.db.query<{ state: string; reason: string | null }>(
        'SELECT state, termination_reason AS reason FROM calls WHERE task_id = $1',
        [taskId],
      );
      return r?.state === 'done' ? r : null;
    });
    console.info(`swept after ${Date.now() - t0} ms`);
    expect(row.reason).toBe('interrupted');
    expect(await tries()).toBe(1);
    await waitFor(
      'task finished',
      async () => (await call<{ status: number }>(`/voice/group/call/detail/${taskId}`)).data.status === 2,
    );
  });

  it('a transient error that never clears does not hold shutdown past its grace', async () => {
    const callee = '4450100000002';
    const graceMs = 1_000;
    const service = await startService({
      clockSpeed: 1000,
      config: { engine: { shutdownGraceMs: graceMs } },
      sim: { overrides: { [callee]: { kind: 'answer', ringMs: 100, listenMs: 100 } } },
    });
    services.push(service);
    const tries = await failSettlesOf(service, callee, '40001');
    const { account, call } = await newAccountClient(service);
    await taskSender(call, account.appId)({ taskName: 'transient', numberList: [callee] });
    await waitFor('retried several times', async () => (await tries()) >= 3);
    const [r] = await service.db.query<{ state: string }>('SELECT state FROM calls WHERE callee = $1', [
      callee,
    ]);
    // Still leased: once the process is gone, whoever comes next settles it as interrupted.
    expect(r!.state).toBe('dialling');
    const started = Date.now();
    await service.ring.close();
    const tookMs = Date.now() - started;
    console.info(`shutdown with a settle retrying forever took ${tookMs} ms (grace ${graceMs} ms)`);
    expect(tookMs).toBeLessThan(graceMs + 1_500);
  });
});
