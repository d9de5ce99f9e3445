import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackReceiver, TestService } from '../helpers/harness.ts';
import { callbackReceiver, newAccountClient, numbers, startService, waitFor } from '../helpers/harness.ts';

describe('status-report push (spec §3)', () => {
  let service: TestService;
  let receiver: CallbackReceiver;
  const received: Array<Record<string, unknown>> = [];
  let requests = 0;

  beforeAll(async () => {
    receiver = await callbackReceiver((body) => {
      requests++;
      // The first three deliveries fail: the records must still all arrive, later.
      if (requests <= 3) return 503;
      received.push(...(body as Array<Record<string, unknown>>));
      return 200;
    });
    service = await startService({ clockSpeed: 2000 });
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  it('POSTs every settled call to the app callback at least once, retrying after failures', async () => {
    const { send } = await newAccountClient(service, { callbackUrl: receiver.url });
    const list = numbers(25, '3365000');
    const taskId = await send({
      taskName: 'push',
      text: 'hello',
      numberInfoList: list.map((n) => ({ calleeNumber: n, text1: 'x' })),
    });
    await waitFor(
      'all records pushed',
      async () => new Set(received.map((r) => r.callee)).size === 25,
      60_000,
    );
    expect(requests).toBeGreaterThan(3);
    const first = received[0]!;
    expect(first).toMatchObject({ taskId, sourceTaskId: taskId, outRecallCount: 0 });
    // Webhook times are epoch milliseconds.
    expect(typeof first.callTime).toBe('number');
    expect(first.calledInfo).toBe('{"text1":"x"}');
    // The receiver has them all; the outbox marks them sent right after its 200.
    const states = await waitFor('outbox rows marked sent', async () => {
      const rows = await service.db.query<{ state: string; n: number }>(
        'SELECT state, count(*)::int AS n FROM push_outbox GROUP BY state',
      );
      return rows.length === 1 && rows[0]!.state === 'sent' ? rows : null;
    });
    expect(states).toEqual([{ state: 'sent', n: 25 }]);
  });
});
