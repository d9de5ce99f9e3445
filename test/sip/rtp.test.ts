import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/telephony/sip/rtp/frame-clock.ts';
import { decodeG711, EncodingCache } from '../../src/telephony/sip/rtp/g711.ts';
import { buildRtp, parseRtp, type RtpPacket } from '../../src/telephony/sip/rtp/packet.ts';
import { PortAllocator, RtpSession } from '../../src/telephony/sip/rtp/session.ts';
import { TelephoneEventDecoder } from '../../src/telephony/sip/rtp/telephone-event.ts';
import { answerDirection, buildSdp, negotiate, parseSdp } from '../../src/telephony/sip/sdp.ts';

function event(ev: number, end: boolean, duration: number): Buffer {
  return Buffer.from([ev, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
}

describe('RFC 4733 telephone-event decoding', () => {
  it('reports one digit per event: the end bit is acted on once, its retransmissions are ignored (§2.5.1.4)', () => {
    const got: string[] = [];
    const d = new TelephoneEventDecoder((x) => got.push(x));
    for (const dur of [0, 160, 320]) d.push(event(5, false, dur), 1000, 7);
    for (let i = 0; i < 3; i++) d.push(event(5, true, 480), 1000, 7);
    expect(got).toEqual(['5']);
  });

  it('the same key pressed twice is two events (distinct timestamps) → two digits', () => {
    const got: string[] = [];
    const d = new TelephoneEventDecoder((x) => got.push(x));
    d.push(event(1, true, 800), 1000, 7);
    d.push(event(1, true, 800), 1000, 7);
    d.push(event(1, true, 800), 5000, 7);
    d.push(event(10, true, 800), 9000, 7);
    d.push(event(11, true, 800), 13000, 7);
    expect(got).toEqual(['1', '1', '*', '#']);
  });

  it('an event whose end packets were all lost is reported when the next event starts', () => {
    const got: string[] = [];
    const d = new TelephoneEventDecoder((x) => got.push(x));
    d.push(event(3, false, 160), 1000, 7);
    d.push(event(4, false, 160), 2000, 7);
    d.push(event(4, true, 800), 2000, 7);
    expect(got).toEqual(['3', '4']);
  });
});

describe('RTP packets', () => {
  it('round-trips the RFC 3550 fixed header fields', () => {
    const p: RtpPacket = {
      marker: true,
      payloadType: 8,
      sequence: 65535,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
      payload: Buffer.alloc(160, 0xd5),
    };
    expect(parseRtp(buildRtp(p))).toEqual(p);
  });

  it('rejects a version other than 2 and a padding count past the payload', () => {
    const b = buildRtp({
      marker: false,
      payloadType: 0,
      sequence: 1,
      timestamp: 1,
      ssrc: 1,
      payload: Buffer.alloc(4),
    });
    const v1 = Buffer.from(b);
    v1[0] = 0x40;
    expect(parseRtp(v1)).toBeUndefined();
    const pad = Buffer.from(b);
    pad[0]! |= 0x20;
    pad[pad.length - 1] = 200;
    expect(parseRtp(pad)).toBeUndefined();
  });
});

describe('SDP offer/answer', () => {
  it('offers PCMU, PCMA and telephone-event/101 and negotiates the first codec of the answer', () => {
    const offer = buildSdp({
      address: '127.0.0.1',
      port: 4000,
      sessionId: 1,
      version: 1,
      codecs: ['PCMU', 'PCMA'],
      dtmfPayloadType: 101,
    });
    expect(offer).toContain('m=audio 4000 RTP/AVP 0 8 101');
    expect(offer).toContain('a=rtpmap:101 telephone-event/8000');
    const answer = parseSdp(
      'v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\n',
    )!;
    expect(negotiate(answer, ['PCMU', 'PCMA'], true)).toEqual({
      direction: 'sendrecv',
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 96,
      remoteAddress: '10.0.0.2',
      remotePort: 5000,
    });
  });

  it('a hold offer (a=sendonly, session or media level) is answered recvonly (RFC 3264 §6.1)', () => {
    const media = parseSdp('c=IN IP4 1.1.1.1\r\nm=audio 5000 RTP/AVP 0\r\na=sendonly\r\n')!;
    const session = parseSdp('c=IN IP4 1.1.1.1\r\na=inactive\r\nm=audio 5000 RTP/AVP 0\r\n')!;
    expect(answerDirection(media.direction)).toBe('recvonly');
    expect(answerDirection(session.direction)).toBe('inactive');
  });

  it('an answer with no common codec, or a rejected stream (port 0), negotiates nothing', () => {
    expect(
      negotiate(parseSdp('c=IN IP4 1.1.1.1\r\nm=audio 5000 RTP/AVP 18\r\n')!, ['PCMU'], true),
    ).toBeUndefined();
    expect(
      negotiate(parseSdp('c=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n')!, ['PCMU'], true),
    ).toBeUndefined();
  });
});

describe('RTP sender', () => {
  it('sends 20 ms / 160-sample G.711 packets with consecutive sequence numbers, timestamps +160, one SSRC, marker on the first, paced without drift', async () => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const got: Array<{ p: RtpPacket; at: number }> = [];
    sink.on('message', (b) => got.push({ p: parseRtp(b)!, at: performance.now() }));
    const ports = new PortAllocator(39000, 39010);
    const { socket, port } = await ports.bind('127.0.0.1');
    const s = new RtpSession(socket, port, new FrameClock(), new EncodingCache(), () => ports.release(port));
    s.configure({
      direction: 'sendrecv',
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 101,
      remoteAddress: '127.0.0.1',
      remotePort: sink.address().port,
    });
    const samples = new Int16Array(8000 * 2); // 2 s → 100 frames
    for (let i = 0; i < samples.length; i++) samples[i] = (i * 37) % 2000;
    const started = performance.now();
    const done = await s.play({ key: 'ramp', sampleRate: 8000, samples, durationMs: 2000 }, 1);
    const elapsed = performance.now() - started;
    await new Promise((r) => setTimeout(r, 50));
    s.close();
    sink.close();
    expect(done).toBe(true);
    expect(got).toHaveLength(100);
    const first = got[0]!.p;
    expect(first.marker).toBe(true);
    got.forEach(({ p }, i) => {
      expect(p.payload).toHaveLength(160);
      expect(p.ssrc).toBe(first.ssrc);
      expect(p.sequence).toBe((first.sequence + i) & 0xffff);
      expect(p.timestamp).toBe((first.timestamp + i * 160) >>> 0);
      if (i) expect(p.marker).toBe(false);
    });
    // 100 frames at 20 ms: the last is due at 1980 ms; absolute scheduling keeps the total within a tick.
    expect(elapsed).toBeGreaterThan(1_970);
    expect(elapsed).toBeLessThan(2_100);
    const lastArrival = got[99]!.at - got[0]!.at;
    expect(Math.abs(lastArrival - 1_980)).toBeLessThan(60);
    // The audio decodes back to what was played (G.711 A-law is lossy: compare coarsely).
    const decoded = decodeG711('PCMA', got[10]!.p.payload);
    expect(Math.abs(decoded[5]! - samples[1605]!)).toBeLessThan(64);
  });
});
