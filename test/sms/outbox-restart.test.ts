/**
 * A sender that dies in the middle of sending (its SMPP submit never completes) loses nothing: once its
 * lease lapses, another sender takes the rows over and the SMSC receives every SMS exactly once.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmsOutboxWorker } from '../../src/sms/outbox-worker.ts';
import { SmsSendError, type SmsTransport } from '../../src/sms/transport.ts';
import { newAccountClient, numbers, startService, type TestService, waitFor } from '../helpers/harness.ts';
import { FakeSmsc, transportTo } from './fake-smsc.ts';

/** A transport whose sends never finish, like a process frozen or killed mid-send. */
class StuckTransport implements SmsTransport {
  readonly name = 'stuck';
  attempts = 0;
  private released = false;
  private readonly pending: Array<(error: Error) => void> = [];
  send() {
    this.attempts++;
    if (this.released) return Promise.reject(new SmsSendError('released', true));
    return new Promise<never>((_, reject) => this.pending.push(reject));
  }
  onReceipt() {}
  /** Lets the frozen sender go at the end of the test so the service can shut down. */
  release() {
    this.released = true;
    for (const reject of this.pending.splice(0)) reject(new SmsSendError('released', true));
  }
  async close() {
    this.release();
  }
}

describe('SMS outbox across a sender that dies mid-send', () => {
  const smsc = new FakeSmsc('ringcast', 'secret');
  const stuck = new StuckTransport();
  let service: TestService;

  beforeAll(async () => {
    await smsc.start();
    const list = numbers(6, '8613911000');
    service = await startService({
      clockSpeed: 200,
      leaseRealMs: 1_000,
      sms: stuck,
      sim: {
        seed: 'restart',
        overrides: Object.fromEntries(list.map((n) => [n, { kind: 'busy' as const }])),
      },
    });
  });
  afterAll(async () => {
    stuck.release();
    await service?.close();
    await smsc.kill();
  });

  it('takes over the leased SMS after the lease and sends each exactly once', async () => {
    const { send } = await newAccountClient(service);
    const list = numbers(6, '8613911000');
    const taskId = await send({
      taskName: 'stuck sender',
      text: 'Hello',
      hangUpSms: 1,
      failedPush: 1,
      smsContent: 'Missed you, ${text1}',
      numberInfoList: list.map((n, i) => ({ calleeNumber: n, text1: `R${i}` })),
    });
    await waitFor('the first sender to take an SMS and freeze', async () => stuck.attempts > 0);
    await waitFor('all six SMS queued', async () => {
      const [row] = await service.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sms_outbox WHERE task_id = $1',
        [taskId],
      );
      return row?.n === 6;
    });

    // The replacement sender, as a restarted process would run it.
    const transport = transportTo(smsc);
    const replacement = new SmsOutboxWorker(service.db, service.clock, transport, pino({ level: 'silent' }), {
      batchSize: 50,
      maxAttempts: 12,
      leaseRealMs: 1_000,
    });
    await waitFor(
      'all six sent by the replacement',
      async () => {
        await replacement.tick();
        const [row] = await service.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sms_outbox WHERE task_id = $1 AND state = 'sent'",
          [taskId],
        );
        return row?.n === 6;
      },
      30_000,
    );
    await transport.close();
    // The frozen sender wakes up late with a failure: it must not re-queue what was delivered.
    const ticksBefore = service.ring.engine.sms.ticks;
    stuck.release();
    await waitFor(
      'the frozen sender to finish its tick',
      async () => service.ring.engine.sms.ticks > ticksBefore,
    );
    const states = await service.db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM sms_outbox WHERE task_id = $1 GROUP BY state',
      [taskId],
    );
    expect(states).toEqual([{ state: 'sent', n: 6 }]);
    expect(smsc.submits.map((s) => s.destination).sort()).toEqual(list);
    expect(smsc.submits.map((s) => s.text).sort()).toEqual(list.map((_, i) => `Missed you, R${i}`).sort());
  });
});
