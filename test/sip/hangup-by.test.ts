/**
 * [ours] hangupBy through the whole product: the engine dials three numbers through SipDriver to SIPp
 * (uas-answer-then-bye-by-last-digit.xml). The record (API) and the status push must both say who ended
 * each call: SIPp's plain BYE → callee, SIPp's BYE with a Q.850 network cause → carrier, our BYE when the
 * message ends → system.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/domain/call-record.ts';
import { SipDriver } from '../../src/telephony/sip/sip-driver.ts';
import {
  apiClient,
  newAccount,
  startService,
  type TestAccount,
  type TestService,
  waitFor,
} from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { runSipp, type SippRun, waitForPort } from './sipp.ts';

/** Ports of this file only: SIP 23100, SIPp media 23104-23107, control 23109, our RTP 23120-23198. */
const SIP_PORT = 23100;

describe.skipIf(!hasTool('sipp'))('hangupBy on records and in the status push (SIPp)', () => {
  let sipp: SippRun;
  let service: TestService;
  let account: TestAccount;
  let receiver: Server;
  const pushed: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        pushed.push(...(JSON.parse(body) as Array<Record<string, unknown>>));
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    sipp = runSipp({
      scenario: 'uas-answer-then-bye-by-last-digit',
      sipPort: SIP_PORT,
      mediaPort: SIP_PORT + 4,
      controlPort: SIP_PORT + 9,
      calls: 3,
      timeoutS: 90,
    });
    await waitForPort(SIP_PORT, 'udp');
    service = await startService({
      clockSpeed: 30,
      driver: new SipDriver({
        trunkHost: '127.0.0.1',
        trunkPort: SIP_PORT,
        transport: 'udp',
        rtpPortRange: [SIP_PORT + 20, SIP_PORT + 98],
      }),
    });
    const port = (receiver.address() as AddressInfo).port;
    account = await newAccount(service.db, { callbackUrl: `http://127.0.0.1:${port}/hook` });
  }, 90_000);

  afterAll(async () => {
    sipp?.stop();
    await sipp?.done;
    await service?.close();
    receiver?.close();
  }, 30_000);

  it('records callee for a plain BYE from the far end, carrier for a BYE with a Q.850 network cause, system for our BYE', async () => {
    const call = apiClient(service, account);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'hangup-by',
      source: 3,
      text: 'Hello there',
      lan: 'en',
      maxRingingTime: 60,
      maxCalls: 600,
      numberInfoList: ['4470000001', '4470000002', '4470000003'].map((n) => ({ calleeNumber: n })),
    });
    expect(sent.status, JSON.stringify(sent)).toBe('0');
    const records = await waitFor(
      'three settled records',
      async () => {
        const page = await call<{ records: CallRecord[] }>('/voice/recordGroupQuery', {
          current: 1,
          size: 10,
          params: { strTime: '2026-11-24T00:00:00Z', endTime: '2026-11-26T00:00:00Z', taskId: sent.data },
        });
        const done = page.data.records.filter((r) => r.callStatus !== null);
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
