/**
 * Early media and SIT through the whole product: SIPp answers one number with 183 + SDP and plays, as early
 * media, the vacant-code Special Information Tone from a pcap built here with sox; another number is busy.
 * The engine (through SipDriver) must hear the SIT, CANCEL, record callStatus 30 `sit-vacant`, and the
 * failed-only recall round must dial the busy number again but never the dead one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/domain/call-record.ts';
import { SIT_SEQUENCES } from '../../src/telephony/sip/rtp/sit-detector.ts';
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
import { rtpPcap, soxTones } from './pcap.ts';
import { runSipp, type SippRun, waitForPort } from './sipp.ts';

/** Ports of this file only: SIP 23300, SIPp media 23304-23307, control 23309, our RTP 23320-23398. */
const SIP_PORT = 23300;
const DEAD = '4470000009';
const BUSY = '4470000002';

interface FlowDetail {
  status: number;
  finishNum: number;
  nodeList: Array<{ taskId: number | null; nodeStatus: number }>;
}

describe.skipIf(!hasTool('sipp') || !hasTool('sox'))('SIT on early media (SIPp, pcap made with sox)', () => {
  let sipp: SippRun;
  let service: TestService;
  let account: TestAccount;
  let logDir: string;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'ringcast-sit-'));
    // The vacant-code SIT (985.2 Hz 380 ms, 1370.6 Hz 274 ms, 1776.7 Hz 380 ms) after 200 ms of silence.
    const pcap = rtpPcap(soxTones(SIT_SEQUENCES.vacant, 'mu-law', 200), 0);
    sipp = runSipp({
      scenario: 'uas-183-sit-vacant-expect-cancel-if-last-digit-9-else-486',
      sipPort: SIP_PORT,
      mediaPort: SIP_PORT + 4,
      controlPort: SIP_PORT + 9,
      calls: 3,
      timeoutS: 90,
      files: { 'sit.pcap': pcap },
      extra: ['-trace_logs', '-log_file', join(logDir, 'invites.log')],
    });
    await waitForPort(SIP_PORT, 'udp');
    service = await startService({
      clockSpeed: 20,
      driver: new SipDriver({
        trunkHost: '127.0.0.1',
        trunkPort: SIP_PORT,
        transport: 'udp',
        rtpPortRange: [SIP_PORT + 20, SIP_PORT + 98],
      }),
    });
    account = await newAccount(service.db);
  }, 90_000);

  afterAll(async () => {
    sipp?.stop();
    await sipp?.done;
    await service?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 30_000);

  it('183 early media carrying a SIT → callStatus 30 sit-vacant, and the next failed-only round skips the number', async () => {
    const call = apiClient(service, account);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'sit',
      source: 3,
      text: 'Hello',
      lan: 'en',
      // Engine time at 20x: 120 s of ringing is 6 s of real time, far longer than the SIT takes (≈1.3 s).
      maxRingingTime: 120,
      numberInfoList: [DEAD, BUSY].map((n) => ({ calleeNumber: n })),
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1 },
    });
    expect(sent.status, JSON.stringify(sent)).toBe('0');
    const taskId = sent.data;
    const page = await call<{ records: Array<{ keyId: number; taskId: number }> }>(
      '/voice/recallFlow/queryPage',
      { current: 1, size: 10, params: { taskName: String(taskId) } },
    );
    const keyId = page.data.records.find((r) => r.taskId === taskId)!.keyId;
    const flow = await waitFor(
      'the recall flow to complete',
      async () => {
        const d = (await call<FlowDetail>('/voice/recallFlow/queryDetail', { keyId })).data;
        return d.status === 2 ? d : null;
      },
      60_000,
    );
    const records = async (id: number) =>
      (
        await call<{ records: CallRecord[] }>('/voice/recordGroupQuery', {
          current: 1,
          size: 10,
          params: { strTime: '2026-11-24T00:00:00Z', endTime: '2026-11-26T00:00:00Z', taskId: id },
        })
      ).data.records;
    const round0 = await records(taskId);
    const dead = round0.find((r) => r.callee === DEAD)!;
    expect(dead).toMatchObject({
      callStatus: 30,
      terminationReason: 'sit-vacant',
      terminationCode: 404,
      hangupBy: 'carrier',
      answerTime: null,
    });
    // The 183 counts as ringing.
    expect(dead.ringingTime).not.toBeNull();
    expect(round0.find((r) => r.callee === BUSY)).toMatchObject({ callStatus: 10, terminationCode: 486 });
    const round1Task = flow.nodeList[0]!.taskId!;
    const round1 = await records(round1Task);
    expect(round1.map((r) => r.callee)).toEqual([BUSY]);

    const exit = await sipp.done;
    expect(exit.code, exit.output.slice(-2_000)).toBe(0);
    const dialled = readFileSync(join(logDir, 'invites.log'), 'latin1')
      .split('\n')
      .map((line) => /^INVITE user=(\d+)/.exec(line)?.[1])
      .filter((u): u is string => u !== undefined);
    expect(dialled.sort()).toEqual([BUSY, BUSY, DEAD].sort());
  }, 90_000);
});
