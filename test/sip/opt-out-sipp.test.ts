/**
 * optOutKey over SIP (spec §8): the engine dials SIPp through the SIP driver; SIPp answers and sends the
 * RFC 2833 digit 5 a second after the answer, then hangs up. With optOutKey "5" the number is on the account's do-not-call list
 * before the call ends, and a later task with the number records it as `dnc` without dialling.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccountClient, type TestService, taskSender, waitFor } from '../helpers/harness.ts';
import { type ServiceThroughSipp, serviceThroughSipp } from '../helpers/sipp-service.ts';
import { hasTool } from '../helpers/tools.ts';
import type { SippRun } from './sipp.ts';

/** Ports of this file only. */
const SIP_PORT = 25000;
const SIPP_MEDIA_PORT = 25004;
const CONTROL_PORT = 25009;
const RTP_RANGE: [number, number] = [25010, 25098];

describe.skipIf(!hasTool('sipp'))('the opt-out key in a SIP call', () => {
  let peer: ServiceThroughSipp;
  let sipp: SippRun;
  let service: TestService;

  beforeAll(async () => {
    peer = await serviceThroughSipp({
      sipp: { scenario: 'uas-answer-wait-send-dtmf-5', calls: 1, timeoutS: 60 },
      sipPort: SIP_PORT,
      mediaPort: SIPP_MEDIA_PORT,
      controlPort: CONTROL_PORT,
      rtpPortRange: RTP_RANGE,
      clockSpeed: 1,
      localHost: '127.0.0.1',
    });
    ({ sipp, service } = peer);
  }, 90_000);

  afterAll(async () => {
    await peer?.close();
    if (sipp) rmSync(sipp.dir, { recursive: true, force: true });
  }, 30_000);

  it('pressing optOutKey adds the number to the do-not-call list before the call ends; it is never dialled again', async () => {
    const { account, call } = await newAccountClient(service);
    const send = taskSender(call, account.appId, {
      text: 'Hello. Press 5 to stop these calls. Goodbye for now.',
    });
    const number = '4420700900555';
    const first = await send({ taskName: 'sip opt out', optOutKey: '5', numberList: [number] });
    const record = await waitFor(
      'the call settled',
      async () => {
        const [row] = await service.db.query<{ state: string; hangup_time: Date; call_status: number }>(
          'SELECT state, hangup_time, call_status, feedback_value, termination_reason FROM calls WHERE task_id = $1',
          [first],
        );
        return row?.state === 'done' ? row : null;
      },
      60_000,
    );
    expect(record, JSON.stringify(record)).toMatchObject({ call_status: 50, feedback_value: '5' });
    const [entry] = await service.db.query<{ created_at: Date }>(
      'SELECT created_at FROM dnc WHERE account_id = $1 AND number = $2',
      [account.accountId, number],
    );
    expect(entry, 'the number is on the do-not-call list').toBeDefined();
    expect(entry!.created_at.getTime()).toBeLessThanOrEqual(record.hangup_time.getTime());
    expect((await sipp.done).code).toBe(0);

    // SIPp has exited: a dial would fail at the carrier; instead the callee is recorded as dnc.
    const second = await send({ taskName: 'after sip opt out', numberList: [number] });
    const again = await waitFor('second settled', async () => {
      const [row] = await service.db.query<{ state: string; termination_reason: string }>(
        'SELECT state, termination_reason FROM calls WHERE task_id = $1',
        [second],
      );
      return row?.state === 'done' ? row : null;
    });
    expect(again.termination_reason).toBe('dnc');
  }, 120_000);
});
