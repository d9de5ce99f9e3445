/**
 * [ours] hangupBy through the whole product: the engine dials three numbers through SipDriver to SIPp
 * (uas-answer-then-bye-by-last-digit.xml). The record (API) and the status push must both say who ended
 * each call: SIPp's plain BYE → callee, SIPp's BYE with a Q.850 network cause → carrier, our BYE when the
 * message ends → system.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountClient, ApiCall, CallbackReceiver, TestService } from '../helpers/harness.ts';
import { callbackReceiver, newAccountClient, taskRecords, waitFor } from '../helpers/harness.ts';
import { type ServiceThroughSipp, serviceThroughSipp } from '../helpers/sipp-service.ts';
import { hasTool } from '../helpers/tools.ts';
import type { SippRun } from './sipp.ts';

/** Ports of this file only: SIP 23100, SIPp media 23104-23107, control 23109, our RTP 23120-23198. */
const SIP_PORT = 23100;

describe.skipIf(!hasTool('sipp'))('hangupBy on records and in the status push (SIPp)', () => {
  let peer: ServiceThroughSipp;
  let sipp: SippRun;
  let service: TestService;
  let call: ApiCall;
  let send: AccountClient['send'];
  let receiver: CallbackReceiver;
  const pushed: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    receiver = await callbackReceiver((body) => {
      pushed.push(...(body as Array<Record<string, unknown>>));
      return 200;
    });
    peer = await serviceThroughSipp({
      sipp: { scenario: 'uas-answer-then-bye-by-last-digit', calls: 3, timeoutS: 90 },
      sipPort: SIP_PORT,
      rtpPortRange: [SIP_PORT + 20, SIP_PORT + 98],
      clockSpeed: 30,
    });
    ({ sipp, service } = peer);
    ({ call, send } = await newAccountClient(service, { callbackUrl: receiver.url }));
  }, 90_000);

  afterAll(async () => {
    await peer?.close();
    await receiver?.close();
  }, 30_000);

  it('records callee for a plain BYE from the far end, carrier for a BYE with a Q.850 network cause, system for our BYE', async () => {
    const taskId = await send({
      taskName: 'hangup-by',
      text: 'Hello there',
      maxRingingTime: 60,
      maxCalls: 600,
      numberInfoList: ['4470000001', '4470000002', '4470000003'].map((n) => ({ calleeNumber: n })),
    });
    const records = await waitFor(
      'three settled records',
      async () => {
        const done = (await taskRecords(call, taskId)).filter((r) => r.callStatus !== null);
        return done.length === 3 ? done : null;
      },
      60_000,
    );
    const by = Object.fromEntries(records.map((r) => [r.callee, [r.callStatus, r.hangupBy]]));
    expect(by, JSON.stringify(records)).toEqual({
      '4470000001': [50, 'callee'],
      '4470000002': [50, 'carrier'],
      '4470000003': [50, 'system'],
    });
    await waitFor('three pushes', async () => pushed.length >= 3, 30_000);
    const pushedBy = Object.fromEntries(pushed.map((r) => [r.callee, r.hangupBy]));
    expect(pushedBy).toEqual({ '4470000001': 'callee', '4470000002': 'carrier', '4470000003': 'system' });
    const exit = await sipp.done;
    expect(exit.code, exit.output.slice(-2_000)).toBe(0);
  }, 90_000);
});
