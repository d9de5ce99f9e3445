import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrationStore } from '../../src/db/queries/agents.ts';
import type { CallLeg, OriginateRequest, TelephonyDriver } from '../../src/telephony/driver.ts';
import type { SipCallLeg } from '../../src/telephony/sip/call-leg.ts';
import { Registrar } from '../../src/telephony/sip/registrar.ts';
import { SipDriver } from '../../src/telephony/sip/sip-driver.ts';
import { UdpTransport } from '../../src/telephony/sip/transport.ts';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { newAccountClient, startService, waitFor } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { runSipp, type SippRun, waitForPort } from '../sip/sipp.ts';

/** The SIP driver, keeping every leg it places so the test can read their RTP counters. */
class KeepingDriver implements TelephonyDriver {
  readonly name = 'sip';
  readonly legs: Array<{ request: OriginateRequest; leg: SipCallLeg }> = [];
  constructor(readonly inner: SipDriver) {}
  originate(request: OriginateRequest): CallLeg {
    const leg = this.inner.originateSip(request);
    this.legs.push({ request, leg });
    return leg;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// Ports 30000-31999 only (other suites use the rest).
const REGISTRAR = 30500;
const CALLEE = { sipPort: 30510, mediaPort: 30514, controlPort: 30519 };
const AGENT_PHONE = { sipPort: 30520, mediaPort: 30524, controlPort: 30529 };
const AGENT_REGISTER = { sipPort: 30530, mediaPort: 30534, controlPort: 30539 };
const CALLEE_NUMBER = '8613900000001';

describe.skipIf(!hasTool('sipp'))(
  'keypress transfer over SIP: SIPp callee, SIPp agent registered with the registrar',
  () => {
    let service: TestService;
    let account: TestAccount;
    let call: ApiCall;
    let driver: KeepingDriver;
    let registrarTransport: UdpTransport;
    const sipps: SippRun[] = [];

    beforeAll(async () => {
      driver = new KeepingDriver(
        new SipDriver({
          trunkHost: '127.0.0.1',
          trunkPort: CALLEE.sipPort,
          transport: 'udp',
          localSipPort: 30540,
          rtpPortRange: [30600, 30699],
        }),
      );
      service = await startService({ clockSpeed: 1, driver });
      registrarTransport = await UdpTransport.open({ localHost: '127.0.0.1', localPort: REGISTRAR });
      new Registrar(registrarTransport, registrationStore(service.db), service.clock);
      ({ account, call } = await newAccountClient(service));
    });
    afterAll(async () => {
      for (const s of sipps) s.stop();
      await service?.close();
      await registrarTransport?.close();
    });

    it('the callee presses 5, is bridged to the registered agent with RTP relayed both ways, and the agent is recorded', async () => {
      const added = await call<Array<{ account: string; password: string }>>('/voice/sipAdd', {
        appId: account.appId,
        groupName: 'sip-agents',
        phoneName: 'softphone',
        quantity: 2,
      });
      const [agent, unregistered] = added.data;
      const groups = await call<Array<{ voiceGroupId: number }>>('/cc/seatGroup/query', {
        appId: account.appId,
      });
      const groupId = groups.data[0]!.voiceGroupId;

      // The agent's phone: answers our INVITE and echoes the RTP it receives.
      const phone = runSipp({
        scenario: 'uas-answer-expect-bye',
        ...AGENT_PHONE,
        extra: ['-rtp_echo'],
        timeoutS: 60,
      });
      sipps.push(phone);
      await waitForPort(AGENT_PHONE.sipPort, 'udp');
      // The phone registers (digest) with the Contact of that SIPp.
      const register = runSipp({
        scenario: '../../agents/scenarios/uac-register-contact-port-expect-401-then-200',
        ...AGENT_REGISTER,
        remote: `127.0.0.1:${REGISTRAR}`,
        extra: [
          '-s',
          agent!.account,
          '-au',
          agent!.account,
          '-ap',
          agent!.password,
          '-key',
          'contact_port',
          String(AGENT_PHONE.sipPort),
        ],
        timeoutS: 15,
      });
      const registered = await register.done;
      expect(registered.code, registered.output).toBe(0);
      // the second account never registered: it must never be offered the call (strategy 1 would pick it first)
      expect(unregistered).toBeDefined();

      // The callee: answers, presses 5, then talks (g711a.pcap) until our BYE.
      const callee = runSipp({
        scenario: '../../agents/scenarios/uas-answer-press-5-play-g711a-expect-bye',
        ...CALLEE,
        // Echoing what it receives lets the test see that the agent's audio reached the callee's SIPp.
        extra: ['-rtp_echo'],
        timeoutS: 60,
      });
      sipps.push(callee);
      await waitForPort(CALLEE.sipPort, 'udp');

      const sent = await call<number>('/voice/group/call/send', {
        appId: account.appId,
        taskName: 'sip keypress transfer',
        source: 3,
        text: 'Press five to speak to an agent. Press five to speak to an agent. Press five to speak to an agent.',
        lan: 'en',
        numberList: [CALLEE_NUMBER],
        toSeat: 1,
        toSeatType: 2,
        toSeatKey: '5',
        sipGroupId: groupId,
        maxCalls: 8,
        maxRingingTime: 20,
      });
      expect(sent.status, JSON.stringify(sent)).toBe('0');
      const taskId = sent.data;

      // While bridged: RTP flows both ways through us.
      const agentLeg = await waitFor(
        'the agent leg',
        async () => driver.legs.find((l) => l.request.uri !== undefined),
        20_000,
      );
      expect(agentLeg.request.to).toBe(agent!.account);
      expect(agentLeg.request.uri).toBe(`sip:${agent!.account}@127.0.0.1:${AGENT_PHONE.sipPort}`);
      const calleeLeg = driver.legs.find((l) => l.request.to === CALLEE_NUMBER)!;
      await waitFor(
        'RTP both ways',
        async () => {
          const a = agentLeg.leg.rtpStats;
          const c = calleeLeg.leg.rtpStats;
          return (
            a &&
            c &&
            a.packetsReceived > 40 &&
            a.packetsSent > 40 &&
            c.packetsReceived > 40 &&
            c.packetsSent > 40
          );
        },
        20_000,
      );

      const detail = await waitFor(
        'task finished',
        async () => {
          const d = await call<{ status: number; toseatNum: number; callLossNum: number }>(
            `/voice/group/call/detail/${taskId}`,
          );
          return d.data.status === 2 ? d.data : null;
        },
        30_000,
      );
      expect(detail).toMatchObject({ toseatNum: 1, callLossNum: 0 });
      // The callee's audio reached the agent's SIPp (it echoed it back to us) and was relayed to the callee.
      const a = agentLeg.leg.rtpStats!;
      const c = calleeLeg.leg.rtpStats!;
      expect(c.packetsReceived).toBeGreaterThan(40);
      expect(a.packetsSent).toBeGreaterThan(40);
      expect(a.packetsReceived).toBeGreaterThan(40);
      expect(c.packetsSent).toBeGreaterThan(40);
      expect(c.dtmfEvents).toBeGreaterThan(0);
      // The callee's SIPp echoes what reaches it: beyond its own audio (the 236-packet g711a.pcap and the
      // key press), what we relayed to it came back, so the agent's side was heard at the callee's end.
      expect(c.packetsReceived - 300).toBeGreaterThanOrEqual(c.packetsSent * 0.8);

      const [row] = await service.db.query<{
        seat: string;
        feedback_value: string;
        seat_talk_ms: number;
        call_status: number;
      }>('SELECT seat, feedback_value, seat_talk_ms, call_status FROM calls WHERE task_id = $1', [taskId]);
      expect(row).toMatchObject({ seat: agent!.account, feedback_value: '5', call_status: 50 });
      expect(row!.seat_talk_ms).toBeGreaterThan(1000);
      expect(driver.legs.filter((l) => l.request.to === unregistered!.account)).toHaveLength(0);

      const [calleeDone, phoneDone] = await Promise.all([callee.done, phone.done]);
      expect(calleeDone.code, calleeDone.output).toBe(0);
      expect(phoneDone.code, phoneDone.output).toBe(0);
    }, 90_000);
  },
);
