import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseChallenge } from '../../src/telephony/sip/digest.ts';
import {
  cseqOf,
  isFailure,
  makeResponse,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseVia,
  serialize,
  tagOf,
  topViaBranch,
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

describe('quick readers of CSeq, tags and the top Via branch', () => {
  it('read CSeq as the §20.16 grammar does (1 to 10 digits within 32 bits, whitespace, a token)', () => {
    // The grammar as a regex, as the parser once used it: the hand-written reader must agree everywhere.
    const grammar = (v: string) => {
      const m = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(v.trim());
      return m && Number(m[1]) <= 0xffffffff ? { seq: Number(m[1]), method: m[2] } : undefined;
    };
    for (const v of [
      '1 INVITE',
      ' 42\tBYE ',
      '007  ACK',
      '4294967295 INFO',
      '4294967296 INFO',
      '12345678901 INVITE',
      '1INVITE',
      'INVITE',
      '1 ',
      '',
      '1 IN VITE',
      '1 INV\u00e9TE',
      '-1 BYE',
      "1 x.y!%*_+`'~",
    ])
      expect(parseCSeq(v), JSON.stringify(v)).toEqual(grammar(v));
  });

  it('find the tag as the name-addr parser does, quoted display names and bare URIs included', () => {
    for (const v of [
      '<sip:a@b>;tag=1',
      '<sip:a@b> ;TAG = x-y.z',
      '"Bob" <sip:b@c>;tag=77',
      '"a<b>;tag=no" <sip:b@c>;tag=yes',
      '<sip:a@b;tag=uri-param>',
      '<sip:a@b;tag=uri-param>;tag=header',
      'sip:a@b;tag=bare',
      '<sip:a@b>;tag=',
      '<sip:a@b>;xtag=1',
      '<sip:a@b',
      '<sip:a@b>;foo=1;tag=second',
    ])
      expect(tagOf(v), v).toBe(parseNameAddr(v)?.params.get('tag') || undefined);
  });

  it('find the top Via branch as the Via parser does, with or without a second Via in the field', () => {
    for (const via of [
      'SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtest1;rport',
      'SIP/2.0/UDP h;rport;Branch=z9hG4bKcase',
      'SIP/2.0/TCP h:5060 ; branch = z9hG4bKspaced',
      'SIP/2.0/UDP a;branch=z9hG4bKone, SIP/2.0/UDP b;branch=z9hG4bKtwo',
      'SIP/2.0/UDP a;rport',
    ]) {
      const r = req(INVITE_TEXT.replace('SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtest1;rport', via));
      const top = parseVia(r.headers.getAll('via')[0]!);
      expect(topViaBranch(r), via).toBe(top?.params.get('branch') ?? '');
    }
    expect(cseqOf(req(INVITE_TEXT))).toEqual({ seq: 1, method: 'INVITE' });
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
