/**
 * Driver behaviour that SIPp cannot script easily (timing races, lost packets), against a small scripted UAS
 * on a loopback UDP socket. Timers are shrunk (T1 = 20 ms) so timeout paths run in well under a second.
 */
import dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { HangupCause } from '../../src/telephony/driver.ts';
import {
  cseqOf,
  isFailure,
  makeResponse,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  serialize,
  tagOf,
} from '../../src/telephony/sip/message.ts';
import { SipDriver } from '../../src/telephony/sip/sip-driver.ts';
import { waitFor } from '../helpers/harness.ts';

const T1 = 20;

// A full collection on demand, to show what the driver keeps alive (the test process runs without --expose-gc).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

class ScriptedUas {
  readonly socket = dgram.createSocket('udp4');
  readonly received: SipRequest[] = [];
  private waiters: Array<{ method: string; resolve: (r: SipRequest) => void }> = [];
  remote: { port: number; address: string } | undefined;
  onRequest: (r: SipRequest) => void = () => {};

  async start(): Promise<number> {
    this.socket.on('message', (buf, rinfo) => {
      const m = parseMessage(buf);
      if (isFailure(m) || m.kind !== 'request') return;
      this.remote = rinfo;
      this.received.push(m);
      this.onRequest(m);
      for (const w of this.waiters.filter((x) => x.method === m.method)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    });
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    return this.socket.address().port;
  }

  next(method: string): Promise<SipRequest> {
    return new Promise((resolve) => this.waiters.push({ method, resolve }));
  }

  send(m: SipMessage | Buffer): void {
    const buf = Buffer.isBuffer(m) ? m : serialize(m);
    this.socket.send(buf, this.remote!.port, this.remote!.address);
  }

  reply(r: SipRequest, status: number, sdp = false): SipResponse {
    const res = makeResponse(r, status, 'uas1');
    if (sdp) {
      res.headers.append('contact', `<sip:uas@127.0.0.1:${this.socket.address().port}>`);
      res.headers.append('content-type', 'application/sdp');
      res.body = Buffer.from(
        'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n',
      );
    }
    this.send(res);
    return res;
  }

  count(method: string): number {
    return this.received.filter((r) => r.method === method).length;
  }

  close(): void {
    this.socket.close();
  }
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function rig(ringTimeoutMs = 5_000, creds: { username?: string; password?: string } = {}) {
  const uas = new ScriptedUas();
  const port = await uas.start();
  const driver = new SipDriver({
    trunkHost: '127.0.0.1',
    trunkPort: port,
    transport: 'udp',
    rtpPortRange: [38000, 38100],
    timers: { T1 },
    ...creds,
  });
  cleanup.push(
    () => uas.close(),
    () => driver.close(),
  );
  const leg = driver.originateSip({ callId: 'd1', to: '15551230000', from: '1555', ringTimeoutMs });
  const events: string[] = [];
  for (const e of ['ringing', 'answered'] as const) leg.on(e, () => events.push(e));
  const causes: HangupCause[] = [];
  // No closure here names `leg`: one would keep it (and so every call of the file) alive through the
  // cleanup closures sharing this scope, and the collection test below could not tell.
  let firstCause: (c: HangupCause) => void = () => {};
  const cause = new Promise<HangupCause>((r) => {
    firstCause = r;
  });
  leg.on('hangup', (c) => {
    causes.push(c);
    firstCause(c);
  });
  return { uas, driver, leg, events, causes, cause };
}

describe('SipDriver call control (scripted UAS)', () => {
  it('a silent trunk: the INVITE is retransmitted by Timer A and Timer B (64·T1) ends the leg as unavailable', async () => {
    const { uas, cause } = await rig();
    expect(await cause).toEqual({ sipCode: 408, reason: 'unavailable' });
    // Sent at 0, 1, 3, 7, 15, 31 T1 (and 63 T1, just before B at 64 T1).
    expect(uas.count('INVITE')).toBeGreaterThanOrEqual(6);
    expect(uas.count('INVITE')).toBeLessThanOrEqual(7);
  });

  it('telemetry for metrics and readiness: socket up, responses by code, RTP lost from sequence gaps', async () => {
    const { uas, driver, leg, events } = await rig();
    await driver.ready();
    expect(driver.telemetry().up).toBe(true);
    const invite = await uas.next('INVITE');
    uas.reply(invite, 180);
    uas.reply(invite, 200, true);
    await uas.next('ACK');
    expect(events).toEqual(['ringing', 'answered']);
    // The callee's audio, from the address its SDP named, with packets 3 and 4 missing.
    const rtpPort = Number(/m=audio (\d+)/.exec(invite.body.toString())?.[1]);
    const sender = dgram.createSocket('udp4');
    cleanup.push(() => {
      sender.close();
    });
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
    for (const seq of [1, 2, 5, 6]) {
      const packet = Buffer.alloc(12 + 160, 0xff);
      packet.writeUInt8(0x80, 0);
      packet.writeUInt8(0, 1);
      packet.writeUInt16BE(seq, 2);
      packet.writeUInt32BE(seq * 160, 4);
      packet.writeUInt32BE(0x1234, 8);
      await new Promise<void>((r) => sender.send(packet, rtpPort, '127.0.0.1', () => r()));
    }
    await waitFor('4 RTP packets in', async () => (leg.rtpStats?.packetsReceived ?? 0) >= 4, 5_000);
    const telemetry = driver.telemetry();
    expect(telemetry.rtpLost).toBe(2);
    expect(Object.fromEntries(telemetry.responsesByCode)).toMatchObject({ 180: 1, 200: 1 });
    await driver.close();
    expect(driver.telemetry().up).toBe(false);
  });

  it('hangup() before any provisional response: CANCEL waits for the first 1xx (§9.1), then ends with 487', async () => {
    const { uas, leg, cause, causes } = await rig();
    const invite = await uas.next('INVITE');
    const hung = leg.hangup();
    // Timer A retransmits the INVITE meanwhile; two retransmissions after hangup(), a CANCEL sent at once
    // would have arrived before them (one socket, loopback keeps the order).
    await uas.next('INVITE');
    await uas.next('INVITE');
    expect(uas.count('CANCEL')).toBe(0);
    uas.reply(invite, 180);
    const cancel = await uas.next('CANCEL');
    expect(cseqOf(cancel)).toEqual({ seq: cseqOf(invite).seq, method: 'CANCEL' });
    expect(cancel.headers.getAll('via')[0]).toBe(invite.headers.getAll('via')[0]);
    uas.reply(cancel, 200);
    uas.reply(invite, 487);
    await uas.next('ACK');
    expect(await cause).toEqual({ sipCode: 487, reason: 'cancelled' });
    await hung;
    expect(causes).toHaveLength(1);
  });

  it('a 200 that crosses our CANCEL MUST be ACKed and then ended with BYE; the leg reports the ring timeout', async () => {
    const { uas, cause, events } = await rig(150);
    const invite = await uas.next('INVITE');
    uas.reply(invite, 180);
    const cancel = await uas.next('CANCEL');
    uas.reply(cancel, 200);
    uas.reply(invite, 200, true);
    await uas.next('ACK');
    const bye = await uas.next('BYE');
    uas.reply(bye, 200);
    expect(await cause).toEqual({ sipCode: 487, reason: 'no-answer' });
    expect(events).toEqual(['ringing']);
  });

  it('a retransmitted 2xx (our ACK was lost) gets the ACK again (§13.2.2.4)', async () => {
    const { uas, leg, cause } = await rig();
    const invite = await uas.next('INVITE');
    const ok = uas.reply(invite, 200, true);
    await uas.next('ACK');
    uas.send(ok);
    await uas.next('ACK');
    expect(uas.count('ACK')).toBe(2);
    const hung = leg.hangup();
    uas.reply(await uas.next('BYE'), 200);
    await hung;
    expect(await cause).toEqual({ sipCode: 200, reason: 'normal', by: 'system' });
  });

  it('after the call ends its dialog still ACKs a retransmitted 2xx, yet holds nothing of the call (the leg is collected)', async () => {
    // Everything that names the leg stays in this function, so only the driver could keep it alive.
    const endCall = async () => {
      const { uas, driver, leg } = await rig();
      const invite = await uas.next('INVITE');
      const ok = uas.reply(invite, 200, true);
      await uas.next('ACK');
      const hung = leg.hangup();
      uas.reply(await uas.next('BYE'), 200);
      await hung;
      return { uas, driver, ok, ended: new WeakRef(leg) };
    };
    const { uas, driver, ok, ended } = await endCall();
    await waitFor('the ended leg collected', async () => {
      collectGarbage();
      return ended.deref() === undefined;
    });
    // The dialog is kept for 64·T1 all the same, and answers for the call.
    expect((await driver.stats()).dialogs).toBe(1);
    uas.send(ok);
    await uas.next('ACK');
    expect(uas.count('ACK')).toBe(2);
  });

  it('a 2xx arriving after the leg gave up on its CANCEL (64·T1) is ACKed and ended with BYE', async () => {
    const { uas, cause } = await rig(50);
    const invite = await uas.next('INVITE');
    uas.reply(invite, 180);
    await uas.next('CANCEL');
    // Neither the CANCEL nor the INVITE is answered: the leg ends on its own after 64·T1.
    expect(await cause).toEqual({ sipCode: 487, reason: 'no-answer' });
    uas.reply(invite, 200, true);
    const ack = await uas.next('ACK');
    const bye = await uas.next('BYE');
    expect(tagOf(ack.headers.get('to'))).toBe('uas1');
    expect(tagOf(bye.headers.get('to'))).toBe('uas1');
    expect(cseqOf(bye).seq).toBeGreaterThan(cseqOf(invite).seq);
  });

  it('emits hangup exactly once when our BYE and the callee BYE cross', async () => {
    const { uas, driver, leg, causes } = await rig();
    const invite = await uas.next('INVITE');
    uas.reply(invite, 200, true);
    const ack = await uas.next('ACK');
    const bye: SipRequest = {
      kind: 'request',
      method: 'BYE',
      uri: 'sip:ringcast@127.0.0.1',
      headers: ack.headers.clone(),
      body: Buffer.alloc(0),
    };
    bye.headers.set('cseq', '1 BYE');
    bye.headers.set('via', `SIP/2.0/UDP 127.0.0.1:${uas.socket.address().port};branch=z9hG4bKuasbye`);
    // Swap From/To: the request comes from the callee.
    bye.headers.set('from', ack.headers.get('to')!);
    bye.headers.set('to', ack.headers.get('from')!);
    uas.send(bye);
    await Promise.all([leg.hangup(), leg.hangup()]);
    // Once the driver holds nothing of the call (transactions ended by their timers), no event can follow.
    await waitFor('the call forgotten', async () => {
      const { legs, transactions, dialogs, cachedResponses } = await driver.stats();
      return legs + transactions + dialogs + cachedResponses === 0;
    });
    expect(causes).toHaveLength(1);
  });

  it('garbage on the SIP port during a call is dropped and the call carries on', async () => {
    const { uas, leg, cause, driver } = await rig();
    const invite = await uas.next('INVITE');
    uas.reply(invite, 200, true);
    await uas.next('ACK');
    for (const junk of [
      '',
      '\r\n\r\n',
      'SIP/2.0 200 OK\r\n\r\n',
      'INVITE x SIP/2.0\r\nVia: ;;;\r\n\r\n',
      '\u0000\u00ff'.repeat(700),
    ])
      uas.send(Buffer.from(junk, 'latin1'));
    uas.reply(invite, 200, true);
    await uas.next('ACK');
    const hung = leg.hangup();
    uas.reply(await uas.next('BYE'), 200);
    await hung;
    expect(await cause).toEqual({ sipCode: 200, reason: 'normal', by: 'system' });
    expect(driver.activeLegs).toBe(0);
  });

  it('play() before answer resolves false; stopPlayback() resolves a running play with false', async () => {
    const { uas, leg } = await rig();
    const audio = { key: 'x', sampleRate: 8000 as const, samples: new Int16Array(8000), durationMs: 1000 };
    expect(await leg.play(audio, 1)).toBe(false);
    const invite = await uas.next('INVITE');
    uas.reply(invite, 200, true);
    await new Promise<void>((r) => leg.once('answered', () => r()));
    const playing = leg.play(audio, 3);
    setTimeout(() => leg.stopPlayback(), 100);
    expect(await playing).toBe(false);
    const hung = leg.hangup();
    uas.reply(await uas.next('BYE'), 200);
    await hung;
  });

  it('a BYE challenged with 407 is re-sent once with Proxy-Authorization for the configured credentials', async () => {
    const { uas, leg } = await rig(5_000, { username: 'alice', password: 'secret' });
    const invite = await uas.next('INVITE');
    uas.reply(invite, 200, true);
    await uas.next('ACK');
    const hung = leg.hangup();
    const bye1 = await uas.next('BYE');
    const challenge = makeResponse(bye1, 407, 'uas1');
    challenge.headers.append('proxy-authenticate', 'Digest realm="r", nonce="n1", qop="auth"');
    uas.send(challenge);
    const bye2 = await uas.next('BYE');
    expect(bye2.headers.get('proxy-authorization')).toMatch(
      /^Digest username="alice", realm="r", nonce="n1"/,
    );
    expect(cseqOf(bye2).seq).toBeGreaterThan(cseqOf(bye1).seq);
    uas.reply(bye2, 200);
    await hung;
  });

  it('a callee number that is not URI-safe is refused as invalid-number without sending anything (no header injection)', async () => {
    const { uas, driver } = await rig();
    const leg = driver.originateSip({
      callId: 'evil',
      to: '123\r\nX-Evil: 1',
      from: '1',
      ringTimeoutMs: 1_000,
    });
    const cause = await new Promise<HangupCause>((r) => leg.once('hangup', r));
    expect(cause).toEqual({ sipCode: 484, reason: 'invalid-number' });
    // A good call made after it: once its INVITE is in, anything sent for the bad one would be too.
    const probe = driver.originateSip({
      callId: 'probe',
      to: '15551230001',
      from: '1',
      ringTimeoutMs: 1_000,
    });
    const probeEnded = new Promise((r) => probe.once('hangup', r));
    uas.reply(await uas.next('INVITE'), 486);
    await probeEnded;
    expect(uas.received.filter((m) => m.headers.get('call-id') === leg.sipCallId)).toHaveLength(0);
  });

  it('a re-INVITE putting us on hold (sendonly) is answered recvonly, our RTP stops until taken off hold, and resumes with the marker bit', async () => {
    const { uas, driver, leg } = await rig();
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => {
      sink.close();
    });
    let packets = 0;
    const markers: boolean[] = [];
    sink.on('message', (b: Buffer) => {
      packets++;
      markers.push((b[1]! & 0x80) !== 0);
    });
    const invite = await uas.next('INVITE');
    const ok = uas.reply(invite, 200, true);
    await uas.next('ACK');
    const reinvite = (seq: number, dir: string): SipRequest => {
      const h = ok.headers.clone();
      h.set('from', ok.headers.get('to')!);
      h.set('to', ok.headers.get('from')!);
      h.set('cseq', `${seq} INVITE`);
      h.set('via', `SIP/2.0/UDP 127.0.0.1:${uas.socket.address().port};branch=z9hG4bKre${seq}`);
      h.set('content-type', 'application/sdp');
      const sdp = `v=0\r\no=- 1 ${seq} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sink.address().port} RTP/AVP 0\r\na=${dir}\r\n`;
      return {
        kind: 'request',
        method: 'INVITE',
        uri: 'sip:ringcast@127.0.0.1',
        headers: h,
        body: Buffer.from(sdp),
      };
    };
    const audio = {
      key: 'hold',
      sampleRate: 8000 as const,
      samples: new Int16Array(8000 * 3),
      durationMs: 3000,
    };
    const answers: SipResponse[] = [];
    uas.socket.on('message', (b) => {
      const m = parseMessage(b);
      if (!isFailure(m) && m.kind === 'response' && cseqOf(m).method === 'INVITE') answers.push(m);
    });
    const answerTo = (seq: number) =>
      waitFor(`the answer to re-INVITE ${seq}`, async () => answers.find((a) => cseqOf(a).seq === seq));
    void leg.play(audio, 1);
    uas.send(reinvite(2, 'sendrecv'));
    await waitFor('RTP flowing', async () => packets > 5, 5_000);
    uas.send(reinvite(3, 'sendonly'));
    // The leg applies the offer before it answers: from the answer on, we are held.
    const holdAnswer = await answerTo(3);
    const held = packets;
    // The play goes on while held (one frame-clock tick per 20 ms, 4 sub-ticks a frame): 15 frames on, at
    // least 15 packets would have gone out were we still sending.
    const ticksAtHold = (await driver.mediaStats()).ticks;
    await waitFor('15 frames while held', async () => (await driver.mediaStats()).ticks >= ticksAtHold + 60);
    expect(packets - held).toBeLessThanOrEqual(1);
    expect(holdAnswer.body.toString()).toContain('a=recvonly');
    const resumedAt = packets;
    uas.send(reinvite(4, 'sendrecv'));
    await waitFor('RTP flowing again', async () => packets - held > 5, 5_000);
    expect(packets - held).toBeGreaterThan(5);
    // RFC 3551 §4.1: the first packet after the pause starts a talkspurt (marker bit); the rest do not.
    expect(markers[resumedAt]).toBe(true);
    expect(markers.slice(resumedAt + 1).some((m) => m)).toBe(false);
    const hung = leg.hangup();
    uas.reply(await uas.next('BYE'), 200);
    await hung;
  });

  it('refuses a wildcard localHost, which cannot be advertised in Via/Contact/SDP', () => {
    expect(
      () =>
        new SipDriver({ trunkHost: '127.0.0.1', trunkPort: 5060, transport: 'udp', localHost: '0.0.0.0' }),
    ).toThrow(/concrete IPv4/);
  });

  it('a 407 to the INVITE is answered with Proxy-Authorization (legacy digest without qop), same Call-ID and From tag, CSeq + 1', async () => {
    const { uas, cause } = await rig(5_000, { username: 'bob', password: 'pw' });
    const first = await uas.next('INVITE');
    const challenge = makeResponse(first, 407, 'px');
    challenge.headers.append('proxy-authenticate', 'Digest realm="carrier", nonce="abc"');
    uas.send(challenge);
    await uas.next('ACK');
    const second = await uas.next('INVITE');
    const auth = second.headers.get('proxy-authorization') ?? '';
    // RFC 2069 form: response = MD5(HA1:nonce:HA2), no qop/nc/cnonce.
    const { createHash } = await import('node:crypto');
    const md5 = (x: string) => createHash('md5').update(x).digest('hex');
    const expected = md5(`${md5('bob:carrier:pw')}:abc:${md5(`INVITE:${second.uri}`)}`);
    expect(auth).toContain(`response="${expected}"`);
    expect(auth).not.toContain('qop=');
    expect(second.headers.get('call-id')).toBe(first.headers.get('call-id'));
    expect(second.headers.get('from')).toBe(first.headers.get('from'));
    expect(cseqOf(second).seq).toBe(cseqOf(first).seq + 1);
    uas.reply(second, 486);
    expect(await cause).toEqual({ sipCode: 486, reason: 'busy' });
  });
});
