import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/telephony/sip/digest.ts';
import {
  isFailure,
  parseMessage,
  parseNameAddr,
  parseVia,
  serialize,
} from '../../src/telephony/sip/message.ts';
import { parseRtp } from '../../src/telephony/sip/rtp/packet.ts';
import { TelephoneEventDecoder } from '../../src/telephony/sip/rtp/telephone-event.ts';
import { parseSdp } from '../../src/telephony/sip/sdp.ts';
import { StreamFramer, TcpTransport, UdpTransport } from '../../src/telephony/sip/transport.ts';
import { INVITE_TEXT } from './helpers.ts';

const VALID = Buffer.from(INVITE_TEXT.replace(/\n/g, '\r\n'));

/** Mutations of a valid message: byte flips, truncation, insertion, and duplication of slices. */
const mutated = fc
  .array(
    fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ maxLength: 40 }),
      }),
      fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.nat({ max: 200 }) }),
    ),
    { maxLength: 8 },
  )
  .map((ops) => {
    let b = Buffer.from(VALID);
    for (const op of ops) {
      const at = b.length ? op.at % b.length : 0;
      if (op.kind === 'flip' && b.length) b[at] = op.byte;
      else if (op.kind === 'cut') b = b.subarray(0, at);
      else if (op.kind === 'insert') b = Buffer.concat([b.subarray(0, at), op.bytes, b.subarray(at)]);
      else if (op.kind === 'dup') b = Buffer.concat([b, b.subarray(at, at + op.len)]);
    }
    return b;
  });

const anyBytes = fc.uint8Array({ maxLength: 2_000 }).map((u) => Buffer.from(u));
const sipText = fc
  .array(
    fc.constantFrom(
      'INVITE ',
      'SIP/2.0 ',
      '200 ',
      '\r\n',
      ': ',
      'Via',
      'CSeq: 1 INVITE',
      '<',
      '>',
      ';tag=',
      '"',
      ',',
      'l: 9',
      ' ',
    ),
    {
      maxLength: 60,
    },
  )
  .map((parts) => Buffer.from(parts.join('')));

describe('parsers never throw and never hang on hostile input', () => {
  it('SIP parser: random bytes, token soup and mutated messages yield a message or a failure', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes, sipText, mutated), (buf) => {
        const m = parseMessage(buf);
        if (!isFailure(m)) {
          // Whatever parses must serialize, and re-parse to the same kind.
          const again = parseMessage(serialize(m));
          expect(isFailure(again) ? 'invalid' : again.kind).toBe(m.kind);
          for (const v of m.headers.getAll('via')) parseVia(v);
          parseNameAddr(m.headers.get('to') ?? '');
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('TCP framer: any chunking of any bytes either frames or reports an error', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyBytes, mutated), { maxLength: 6 }), (chunks) => {
        const f = new StreamFramer();
        for (const c of chunks) {
          const r = f.push(c);
          for (const m of r.messages) parseMessage(m);
          if (r.error) break;
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('a pathological header line is parsed in bounded time (no regex backtracking blow-up)', () => {
    const evil = Buffer.from(
      `INVITE sip:a SIP/2.0\r\nVia: ${'SIP/2.0/UDP '.repeat(600)}\r\nTo: ${'<'.repeat(5000)}\r\n\r\n`,
    );
    const started = performance.now();
    parseMessage(evil);
    parseVia(`SIP/2.0/UDP ${'a'.repeat(50_000)};`);
    parseChallenge(`Digest ${'a=,'.repeat(20_000)}`);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('RTP and RFC 4733 decoders: random and mutated packets never throw', () => {
    const decoder = new TelephoneEventDecoder(() => {});
    fc.assert(
      fc.property(
        anyBytes,
        fc.uint8Array({ maxLength: 12 }),
        fc.nat(),
        fc.nat(),
        (buf, payload, ts, ssrc) => {
          const p = parseRtp(buf);
          if (p) decoder.push(p.payload, p.timestamp, p.ssrc);
          decoder.push(payload, ts, ssrc);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('SDP parser: arbitrary text yields a description or undefined', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (s) => {
        parseSdp(s);
        parseSdp(`v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 101\r\n${s}`);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a live UDP transport survives a flood of hostile datagrams and still delivers the next valid message', async () => {
    const t = await UdpTransport.open({ localHost: '127.0.0.1', localPort: 0 });
    let invalid = 0;
    const valid = new Promise<void>((resolve) =>
      t.on('message', (m) => {
        if (m.headers.get('call-id') === 'last@fuzz') resolve();
      }),
    );
    t.on('invalid', () => invalid++);
    const s = dgram.createSocket('udp4');
    const samples = fc.sample(
      fc.oneof(
        anyBytes.filter((b) => b.length > 0),
        mutated,
      ),
      300,
    );
    for (const [i, b] of samples.entries()) {
      s.send(b, t.localPort, '127.0.0.1');
      // Yield now and then so the loopback receive buffer does not overflow and drop the final message.
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
    }
    s.send(
      Buffer.from(VALID.toString('latin1').replace('call-1@127.0.0.1', 'last@fuzz'), 'latin1'),
      t.localPort,
      '127.0.0.1',
    );
    await valid;
    s.close();
    await t.close();
    expect(invalid).toBeGreaterThan(0);
  });

  it('a live TCP transport closes a connection whose framing is broken, and keeps serving others', async () => {
    const t = await TcpTransport.open({ localHost: '127.0.0.1', localPort: 0 });
    const bad = net.connect({ host: '127.0.0.1', port: t.localPort });
    const closed = new Promise<void>((r) => bad.on('close', () => r()));
    bad.on('error', () => {});
    bad.write('INVITE sip:a SIP/2.0\r\nContent-Length: nope\r\n\r\n');
    await closed;
    const good = net.connect({ host: '127.0.0.1', port: t.localPort });
    const got = new Promise<void>((r) => t.on('message', () => r()));
    good.write(Buffer.concat([VALID, VALID.subarray(0, 10)]));
    await got;
    good.destroy();
    await t.close();
  });
});
