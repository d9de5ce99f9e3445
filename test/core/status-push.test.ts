import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  newAccount,
  numbers,
  startService,
  type TestService,
  waitFor,
} from '../helpers/harness.ts';

describe('status-report push (spec §3)', () => {
  let service: TestService;
  let receiver: Server;
  const received: Array<Record<string, unknown>> = [];
  let requests = 0;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        requests++;
        // The first three deliveries fail: the records must still all arrive, later.
        if (requests <= 3) {
          response.writeHead(503).end();
          return;
        }
        const parsed = JSON.parse(body) as Array<Record<string, unknown>>;
        received.push(...parsed);
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    service = await startService({ clockSpeed: 2000 });
  });
  afterAll(async () => {
    await service?.close();
    receiver?.close();
  });

  it('POSTs every settled call to the app callback at least once, retrying after failures', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const account = await newAccount(service.db, { callbackUrl: `http://127.0.0.1:${port}/hook` });
    const call = apiClient(service, account);
    const list = numbers(25, '3365000');
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'push',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberInfoList: list.map((n) => ({ calleeNumber: n, text1: 'x' })),
    });
    await waitFor(
      'all records pushed',
      async () => new Set(received.map((r) => r.callee)).size === 25,
      60_000,
    );
    expect(requests).toBeGreaterThan(3);
    const first = received[0]!;
    expect(first).toMatchObject({ taskId: sent.data, sourceTaskId: sent.data, outRecallCount: 0 });
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
