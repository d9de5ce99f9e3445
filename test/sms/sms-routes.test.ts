/**
 * [ours] smsAppId picks a configured SMS route (SMS_ROUTES): the hang-up SMS of a task naming a route goes
 * to that route's SMSC and never to the default one; a name that is not configured is refused with -22.
 * Two real SMPP servers stand for the two carriers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { RoutedSmsTransport } from '../../src/sms/routed-transport.ts';
import type { ApiCall, TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, startService, waitFor } from '../helpers/harness.ts';
import { FakeSmsc, transportTo } from './fake-smsc.ts';

describe('SMS routes (smsAppId)', () => {
  const defaultSmsc = new FakeSmsc('ringcast', 'secret');
  const promoSmsc = new FakeSmsc('ringcast', 'secret');
  let service: TestService;
  let call: ApiCall;
  let appId: number;
  const busy = ['4477009000001', '4477009000002'];

  beforeAll(async () => {
    await defaultSmsc.start();
    await promoSmsc.start();
    service = await startService({
      clockSpeed: 500,
      sim: { seed: 'routes', overrides: Object.fromEntries(busy.map((n) => [n, { kind: 'busy' as const }])) },
      sms: new RoutedSmsTransport(transportTo(defaultSmsc), new Map([['promo', transportTo(promoSmsc)]])),
    });
    const account = await newAccount(service.db);
    appId = account.appId;
    call = apiClient(service, account);
  });
  afterAll(async () => {
    await service?.close();
    await defaultSmsc.kill();
    await promoSmsc.kill();
  });

  const send = (callee: string, extra: Record<string, unknown>) =>
    call<number>('/voice/group/call/send', {
      appId,
      taskName: `route ${callee}`,
      source: 3,
      text: 'Hello',
      lan: 'en',
      hangUpSms: 1,
      failedPush: 1,
      smsContent: `Missed you ${callee}`,
      numberList: [callee],
      ...extra,
    });

  it('sends through the route the task names, and through the default route otherwise', async () => {
    expect((await send(busy[0]!, { smsAppId: 'promo' })).status).toBe('0');
    expect((await send(busy[1]!, {})).status).toBe('0');
    await waitFor(
      'one SMS at each SMSC',
      async () => promoSmsc.submits.length >= 1 && defaultSmsc.submits.length >= 1,
    );
    expect(promoSmsc.submits.map((s) => s.destination)).toEqual([busy[0]]);
    expect(defaultSmsc.submits.map((s) => s.destination)).toEqual([busy[1]]);
    const [row] = await service.db.query<{ route: string | null }>(
      'SELECT route FROM sms_outbox WHERE recipient = $1',
      [busy[0]],
    );
    expect(row?.route).toBe('promo');
  });

  it('refuses a route that is not configured with -22 naming smsAppId, for a task and a recall node', async () => {
    const task = await send('4477009000003', { smsAppId: 'nope' });
    expect(task.status).toBe('-22');
    expect(task.reason).toMatch(/^smsAppId: must be one of the configured SMS routes: promo/);
    const node = await send('4477009000004', {
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1, nodeList: [{ smsAppId: 'other' }] },
    });
    expect(node.status).toBe('-22');
    expect(node.reason).toMatch(/^recallFlow\.nodeList\[0\]\.smsAppId:/);
  });
});

describe('SMS_ROUTES configuration', () => {
  it('reads each route with the same settings as the default one', () => {
    const config = loadConfig({
      SMS_ROUTES: JSON.stringify({
        promo: { SMS_DRIVER: 'http', SMS_HTTP_URL: 'https://sms.example/send' },
        otp: { SMS_DRIVER: 'smpp', SMPP_HOST: 'smsc.example', SMPP_SYSTEM_ID: 'ringcast', SMPP_PORT: 2776 },
      }),
    });
    expect(config.sms).toEqual({ kind: 'log' });
    expect(config.smsRoutes.promo).toMatchObject({ kind: 'http', url: 'https://sms.example/send' });
    expect(config.smsRoutes.otp).toMatchObject({ kind: 'smpp', host: 'smsc.example', port: 2776 });
  });

  it('names the route and the setting when one is wrong', () => {
    expect(() => loadConfig({ SMS_ROUTES: '{"promo":{"SMS_DRIVER":"smpp"}}' })).toThrow(
      /SMS_ROUTES.*route "promo": SMPP_HOST is not set/,
    );
    expect(() => loadConfig({ SMS_ROUTES: '{"promo":{"SMPP_PROT":"1"}}' })).toThrow(
      /route "promo": SMPP_PROT is not an SMS setting/,
    );
    expect(() => loadConfig({ SMS_ROUTES: '[1]' })).toThrow(/SMS_ROUTES.*a JSON object of route ids/);
  });
});
