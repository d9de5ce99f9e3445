/**
 * Hang-up SMS end to end (spec §4): calls on the simulated carrier, SMS through the SMPP transport to a
 * real SMPP server (the `smpp` package's) started here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimOutcome } from '../../src/telephony/sim/sim-driver.ts';
import type { ApiCall, TestService } from '../helpers/harness.ts';
import { afterEngineTicks, apiClient, newAccount, startService, waitFor } from '../helpers/harness.ts';
import { FakeSmsc, transportTo } from './fake-smsc.ts';

const A = '8613900000001'; // answers and presses 1
const B = '8613900000002'; // busy (rang)
const C = '8613900000003'; // unavailable (never rang)
const D = '8613900000004'; // answers, no key
const ROUNDS = '8613900000201'; // always busy: called in round 0 and round 1

describe('hang-up SMS through SMPP', () => {
  const smsc = new FakeSmsc('ringcast', 'secret');
  let service: TestService;
  let call: ApiCall;
  let appId: number;

  beforeAll(async () => {
    await smsc.start();
    const overrides: Record<string, Partial<SimOutcome>> = {
      [A]: { kind: 'answer' as const, ringMs: 3000, listenMs: 20_000, key: '1', keyAtMs: 2000 },
      [B]: { kind: 'busy' as const },
      [C]: { kind: 'unavailable' as const },
      [D]: { kind: 'answer' as const, ringMs: 3000, listenMs: 20_000, key: undefined, keyAtMs: undefined },
    };
    for (let i = 0; i < 10; i++) overrides[`86139000001${i}`] = { kind: 'busy' };
    overrides[ROUNDS] = { kind: 'busy' };
    service = await startService({
      clockSpeed: 500,
      sim: { seed: 'sms', overrides },
      sms: transportTo(smsc),
    });
    const account = await newAccount(service.db);
    appId = account.appId;
    call = apiClient(service, account);
  });
  afterAll(async () => {
    await service?.close();
    await smsc.kill();
  });

  /** No SMS queued or in the sender's hands, and the engine ticked past that: nothing more is coming. */
  const settledWithNoSmsQueued = async () => {
    await waitFor('no SMS left queued', async () => {
      const [row] = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM sms_outbox WHERE state = 'queued'",
      );
      return row?.n === 0;
    });
    await afterEngineTicks(service, 3);
  };

  const smsBody = {
    hangUpSms: 1,
    smsContent: 'Grüße ${text1} 👋 你好',
    senderId: 'Ringcast',
    feedbackPush: 1,
    feedbackValue: '1',
    successPush: 1,
    successPushTime: 5,
    failedPush: 1,
    ringPush: 1,
  };

  it('fires every trigger once and only once, for the right callees, with their own text', async () => {
    const sent = await call<number>('/voice/group/call/send', {
      appId,
      taskName: 'sms triggers',
      source: 3,
      text: 'Press one to confirm',
      lan: 'en',
      ...smsBody,
      numberInfoList: [A, B, C, D].map((n) => ({ calleeNumber: n, text1: `N${n.slice(-1)}` })),
    });
    expect(sent.status).toBe('0');
    const expected: Record<string, number> = { [A]: 3, [B]: 2, [C]: 1, [D]: 2 };
    await waitFor('8 SMS at the SMSC', async () => smsc.submits.length >= 8, 30_000);
    // Any duplicate would be sent by the SMS sender's next ticks once nothing is left queued.
    await settledWithNoSmsQueued();
    const byNumber = new Map<string, string[]>();
    for (const submit of smsc.submits) {
      byNumber.set(submit.destination, [...(byNumber.get(submit.destination) ?? []), submit.text]);
    }
    for (const [number, count] of Object.entries(expected)) {
      expect(byNumber.get(number)?.length, number).toBe(count);
      for (const text of byNumber.get(number) ?? []) expect(text).toBe(`Grüße N${number.slice(-1)} 👋 你好`);
    }
    expect(smsc.submits.every((s) => s.dataCoding === 0x08 && s.source === 'Ringcast')).toBe(true);
    const triggers = await service.db.query<{ recipient: string; trigger: string; state: string }>(
      'SELECT recipient, trigger, state FROM sms_outbox WHERE task_id = $1 ORDER BY recipient, trigger',
      [sent.data],
    );
    expect(triggers.map((t) => `${t.recipient}:${t.trigger}`)).toEqual([
      `${A}:feedback`,
      `${A}:ring`,
      `${A}:success`,
      `${B}:failed`,
      `${B}:ring`,
      `${C}:failed`,
      `${D}:ring`,
      `${D}:success`,
    ]);
    // Delivery receipts reach the call record.
    const first = smsc.submits.find((s) => s.destination === C)!;
    smsc.sendReceipt(first.messageId, 'DELIVRD');
    await waitFor('receipt recorded', async () => {
      const [row] = await service.db.query<{ sms_status: string }>(
        'SELECT sms_status FROM calls WHERE task_id = $1 AND callee = $2',
        [sent.data, C],
      );
      return row?.sms_status === 'delivered';
    });
  });

  it("applies each recall node's own SMS settings to the calls of its round", async () => {
    const sent = await call<number>('/voice/group/call/send', {
      appId,
      taskName: 'sms per round',
      source: 3,
      text: 'Hello',
      lan: 'en',
      hangUpSms: 1,
      failedPush: 1,
      smsContent: 'Round zero ${text1}',
      numberInfoList: [{ calleeNumber: ROUNDS, text1: 'Kim' }],
      recallFlow: {
        recallInterval: 1,
        recallNum: 1,
        recallType: 1,
        nodeList: [{ hangUpSms: 1, failedPush: 1, smsContent: 'Round one ${text1}', senderId: 'Second' }],
      },
    });
    expect(sent.status, sent.reason).toBe('0');
    await waitFor(
      'two SMS for the number',
      async () => smsc.submits.filter((s) => s.destination === ROUNDS).length >= 2,
      30_000,
    );
    await settledWithNoSmsQueued();
    const texts = smsc.submits.filter((s) => s.destination === ROUNDS).map((s) => [s.text, s.source]);
    expect(texts).toEqual([
      ['Round zero Kim', ''],
      ['Round one Kim', 'Second'],
    ]);
  });

  it('loses nothing and sends nothing twice when the SMSC is down, then throttles, then recovers', async () => {
    await smsc.kill();
    const before = smsc.submits.length;
    let throttled = 0;
    const numbers = Array.from({ length: 10 }, (_, i) => `86139000001${i}`);
    const sent = await call<number>('/voice/group/call/send', {
      appId,
      taskName: 'sms outage',
      source: 3,
      text: 'Hello',
      lan: 'en',
      ...smsBody,
      feedbackPush: 0,
      successPush: 0,
      ringPush: 0,
      smsContent: 'Plain ${text1}',
      numberInfoList: numbers.map((n, i) => ({ calleeNumber: n, text1: `P${i}` })),
    });
    await waitFor('SMS to fail while the SMSC is down', async () => {
      const [row] = await service.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sms_outbox WHERE task_id = $1 AND attempts > 0 AND last_error IS NOT NULL',
        [sent.data],
      );
      return (row?.n ?? 0) >= 3;
    });
    smsc.respond = () => (throttled++ < 3 ? 0x58 : 0); // ESME_RTHROTTLED three times
    await smsc.start(smsc.port);
    await waitFor(
      'all 10 sent after recovery',
      async () => {
        const [row] = await service.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sms_outbox WHERE task_id = $1 AND state = 'sent'",
          [sent.data],
        );
        return row?.n === 10;
      },
      45_000,
    );
    const fresh = smsc.submits.slice(before);
    expect(fresh.map((s) => s.destination).sort()).toEqual(numbers);
    expect(fresh.map((s) => s.text).sort()).toEqual(numbers.map((_, i) => `Plain P${i}`).sort());
    expect(throttled).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
