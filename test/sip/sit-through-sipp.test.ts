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
import { SIT_SEQUENCES } from '../../src/telephony/sip/rtp/sit-detector.ts';
import type { AccountClient, ApiCall, TestService } from '../helpers/harness.ts';
import { completedRecallFlow, newAccountClient, taskRecords } from '../helpers/harness.ts';
import { type ServiceThroughSipp, serviceThroughSipp } from '../helpers/sipp-service.ts';
import { hasTool } from '../helpers/tools.ts';
import { rtpPcap, soxTones } from './pcap.ts';
import type { SippRun } from './sipp.ts';

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
  let peer: ServiceThroughSipp;
  let sipp: SippRun;
  let service: TestService;
  let call: ApiCall;
  let send: AccountClient['send'];
  let logDir: string;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'ringcast-sit-'));
    // The vacant-code SIT (985.2 Hz 380 ms, 1370.6 Hz 274 ms, 1776.7 Hz 380 ms) after 200 ms of silence.
    const pcap = rtpPcap(soxTones(SIT_SEQUENCES.vacant, 'mu-law', 200), 0);
    peer = await serviceThroughSipp({
      sipp: {
        scenario: 'uas-183-sit-vacant-expect-cancel-if-last-digit-9-else-486',
        calls: 3,
        timeoutS: 90,
        files: { 'sit.pcap': pcap },
        extra: ['-trace_logs', '-log_file', join(logDir, 'invites.log')],
      },
      sipPort: SIP_PORT,
      rtpPortRange: [SIP_PORT + 20, SIP_PORT + 98],
      clockSpeed: 20,
    });
    ({ sipp, service } = peer);
    ({ call, send } = await newAccountClient(service));
  }, 90_000);

  afterAll(async () => {
    await peer?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 30_000);

  it('183 early media carrying a SIT → callStatus 30 sit-vacant, and the next failed-only round skips the number', async () => {
    const taskId = await send({
      taskName: 'sit',
      text: 'Hello',
      // Engine time at 20x: 120 s of ringing is 6 s of real time, far longer than the SIT takes (≈1.3 s).
      maxRingingTime: 120,
      numberInfoList: [DEAD, BUSY].map((n) => ({ calleeNumber: n })),
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1 },
    });
    const flow = await completedRecallFlow<FlowDetail>(call, taskId, 60_000);
    const records = (id: number) => taskRecords(call, id);
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
