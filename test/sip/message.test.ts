import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseChallenge } from '../../src/telephony/sip/digest.ts';
import {
  isFailure,
  makeResponse,
  parseMessage,
  parseNameAddr,
  parseVia,
  serialize,
} from '../../src/telephony/sip/message.ts';
import { StreamFramer } from '../../src/telephony/sip/transport.ts';
import { INVITE_TEXT, req } from './helpers.ts';

describe('SIP message parser', () => {
  it('parses a request and round-trips it through the serializer', () => {
    const r = req(INVITE_TEXT);
    expect(r.method).toBe('INVITE');
    expect(r.uri).toBe('sip:100@127.0.0.1:5060');
    expect(r.body.toString()).toBe('v=0\r');
    const again = parseMessage(serialize(r));
    expect(isFailure(again)).toBe(false);
    if (!isFailure(again)) expect(again.headers.get('call-id')).toBe('call-1@127.0.0.1');
  });

  it('accepts compact header forms (RFC 3261 §7.3.3) and folded lines (§7.3.1)', () => {
    const text =
      'SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\n ;tag=2\r\ni: x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n';
    const m = parseMessage(Buffer.from(text));
    expect(isFailure(m)).toBe(false);
    if (isFailure(m)) return;
    expect(m.kind).toBe('response');
    expect(m.headers.get('to')).toBe('<sip:c@d> ;tag=2');
    expect(parseNameAddr(m.headers.get('to')!)?.params.get('tag')).toBe('2');
  });

  it('MUST discard a datagram whose body is shorter than Content-Length (§18.3)', () => {
    const m = parseMessage(
      Buffer.from(INVITE_TEXT.replace('Content-Length: 4', 'Content-Length: 40').replace(/\n/g, '\r\n')),
    );
    expect(isFailure(m)).toBe(true);
  });

  it('rejects messages missing a mandatory header (§8.1.1) instead of throwing', () => {
    const m = parseMessage(Buffer.from(INVITE_TEXT.replace(/CSeq: 1 INVITE\n/, '').replace(/\n/g, '\r\n')));
    expect(isFailure(m)).toBe(true);
  });

  it('splits comma-separated Via values into separate header fields (§7.3.1)', () => {
    const r = req(INVITE_TEXT.replace('rport\n', 'rport, SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKb\n'));
    const vias = r.headers.getAll('via');
    expect(vias).toHaveLength(2);
    expect(parseVia(vias[1]!)?.protocol).toBe('TCP');
  });

  it('builds a response that copies Via, From, Call-ID, CSeq and adds a To tag (§8.2.6.2)', () => {
    const r = req(INVITE_TEXT);
    const res = makeResponse(r, 486, 'xyz');
    expect(res.headers.get('to')).toBe('<sip:100@127.0.0.1>;tag=xyz');
    expect(res.headers.get('cseq')).toBe('1 INVITE');
    expect(serialize(res).toString()).toContain('SIP/2.0 486 ');
  });
});

describe('TCP stream framing', () => {
  it('frames messages by Content-Length across arbitrary chunk boundaries (§18.3)', () => {
    const one = Buffer.from(INVITE_TEXT.replace(/\n/g, '\r\n'));
    const stream = Buffer.concat([Buffer.from('\r\n\r\n'), one, one, one]);
    const framer = new StreamFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) out.push(...framer.push(stream.subarray(i, i + 7)).messages);
    expect(out).toHaveLength(3);
    for (const m of out) expect(isFailure(parseMessage(m))).toBe(false);
  });

  it('reports a framing error for a non-numeric Content-Length so the connection can be closed', () => {
    const framer = new StreamFramer();
    const r = framer.push(Buffer.from('INVITE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n'));
    expect(r.error).toBeDefined();
  });
});

describe('digest authentication', () => {
  it('computes the RFC 2617 §3.5 example response for qop=auth', () => {
    const challenge = parseChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(challenge).toBeDefined();
    const value = digestAuthorization({
      challenge: challenge!,
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle Of Life',
      cnonce: '0a4f113b',
      nc: 1,
    });
    expect(value).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(value).toContain('qop=auth');
    expect(value).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  it('refuses a challenge for an algorithm it does not implement', () => {
    const c = parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-256')!;
    expect(
      digestAuthorization({ challenge: c, method: 'INVITE', uri: 'sip:x', username: 'u', password: 'p' }),
    ).toBeUndefined();
  });
});
