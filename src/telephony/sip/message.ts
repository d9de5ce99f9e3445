/**
 * SIP message model, parser and serializer (RFC 3261 §7, §20, §25).
 *
 * The parser is total: any input yields either a message or a `ParseFailure`, never an exception, because a
 * hostile or broken packet must not take down the transport. Limits bound the work done per packet.
 */

export const MAX_MESSAGE_BYTES = 65_535;
const MAX_HEADERS = 256;
const MAX_HEADER_LINE = 8_192;

/** RFC 3261 §7.3.3 compact forms. */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
};

/** Headers whose comma-separated values are separate header fields (§7.3.1). */
const LIST_HEADERS = new Set(['via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require']);

const CANONICAL: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'max-forwards': 'Max-Forwards',
  // RFC 3262 spells these with two capitals; header names are case-insensitive, but some peers match exactly.
  rack: 'RAck',
  rseq: 'RSeq',
};

export interface Header {
  /** Lower-case long form, for lookup. */
  readonly name: string;
  readonly value: string;
}

/**
 * The body of every message without one. Bodies are replaced, never written into, so one zero-length
 * Buffer serves them all (a Buffer.alloc(0) per message was an ArrayBuffer per message).
 */
export const NO_BODY: Buffer = Buffer.alloc(0);

/**
 * Lower-case long form of a header name as written, from a table: one shared string per name, instead of a
 * fresh lower-cased string per header per message, each looked up in COMPACT by a string key. Bounded, as
 * names come from peers.
 */
const longNames = new Map<string, string>();

function longName(name: string): string {
  let out = longNames.get(name);
  if (out === undefined) {
    const lower = name.toLowerCase();
    out = COMPACT[lower] ?? lower;
    if (longNames.size < 1_000) longNames.set(name, out);
  }
  return out;
}

export class Headers {
  private readonly list: Header[] = [];

  // Loops rather than find/filter callbacks: these run several times on every message.
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const h of this.list) if (h.name === key) return h.value;
    return undefined;
  }

  /** Every value of a header, with comma-joined list headers split into separate values. */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const h of this.list) {
      if (h.name !== key) continue;
      if (LIST_HEADERS.has(key) && h.value.trim() !== '*') for (const v of splitList(h.value)) out.push(v);
      else out.push(h.value);
    }
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  append(name: string, value: string): this {
    this.list.push({ name: longName(name), value });
    return this;
  }

  set(name: string, value: string): this {
    this.delete(name);
    return this.append(name, value);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.name === key) this.list.splice(i, 1);
  }

  entries(): readonly Header[] {
    return this.list;
  }

  clone(): Headers {
    const h = new Headers();
    for (const e of this.list) h.list.push(e);
    return h;
  }
}

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: string;
  headers: Headers;
  body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: Headers;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export interface ParseFailure {
  readonly kind: 'invalid';
  readonly error: string;
}

export function isFailure(x: SipMessage | ParseFailure): x is ParseFailure {
  return x.kind === 'invalid';
}

const fail = (error: string): ParseFailure => ({ kind: 'invalid', error });

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/**
 * Finds the end of the header section: index of the first byte after the blank line, or -1.
 * Accepts bare LF line endings too (§7.5 asks us to be liberal in what we accept).
 */
export function headerEnd(buf: Buffer, from = 0): { headEnd: number; bodyStart: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { headEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return undefined;
}

/**
 * Parses one complete datagram (or one framed stream message). With `streamed`, the caller has already cut
 * the body to Content-Length. Never throws.
 */
export function parseMessage(buf: Buffer): SipMessage | ParseFailure {
  try {
    return parseUnsafe(buf);
  } catch (err) {
    // Defence in depth: the parser is written not to throw, but a bug must still not escape.
    return fail(`parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

function parseUnsafe(buf: Buffer): SipMessage | ParseFailure {
  if (buf.length === 0) return fail('empty');
  if (buf.length > MAX_MESSAGE_BYTES) return fail('too large');
  // §7.5: implementations should ignore leading CRLFs (also used as keep-alives).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) return fail('keep-alive');
  const end = headerEnd(buf, start);
  if (!end) return fail('no end of headers');
  const head = buf.toString('latin1', start, end.headEnd);
  // Lines end at LF, with the CR before it dropped (bare-LF peers are accepted, §7.5). Walked by index:
  // names and values are cut straight from `head`, without an array of lines or a string per line.
  const lineEnd = (from: number): [end: number, next: number] => {
    const lf = head.indexOf('\n', from);
    const stop = lf < 0 ? head.length : lf;
    return [stop > from && head.charCodeAt(stop - 1) === 0x0d ? stop - 1 : stop, stop + 1];
  };
  let [stop, next] = lineEnd(0);
  const first = head.slice(0, stop);

  const headers = new Headers();
  let count = 0;
  for (let at = next; at < head.length; at = next) {
    [stop, next] = lineEnd(at);
    if (stop - at > MAX_HEADER_LINE) return fail('header line too long');
    if (stop === at) continue;
    const lead = head.charCodeAt(at);
    if (lead === 0x20 || lead === 0x09) {
      // Folded continuation of the previous header (§7.3.1).
      const entries = headers.entries() as Header[];
      const last = entries[entries.length - 1];
      if (!last) return fail('continuation without header');
      entries[entries.length - 1] = {
        name: last.name,
        value: `${last.value} ${head.slice(at, stop).trim()}`,
      };
      continue;
    }
    const colon = head.indexOf(':', at);
    if (colon <= at || colon >= stop) return fail('malformed header line');
    const name = head.slice(at, colon).trim();
    if (!TOKEN.test(name)) return fail('malformed header name');
    if (++count > MAX_HEADERS) return fail('too many headers');
    headers.append(name, head.slice(colon + 1, stop).trim());
  }

  let body = buf.subarray(end.bodyStart);
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    if (!/^\d{1,6}$/.test(cl)) return fail('bad Content-Length');
    const n = Number(cl);
    // §18.3: a datagram with fewer body bytes than Content-Length is discarded; extra bytes are ignored.
    if (n > body.length) return fail('body shorter than Content-Length');
    body = body.subarray(0, n);
  }
  // Copy so a retained message does not pin a large receive buffer.
  body = body.length ? Buffer.from(body) : NO_BODY;

  for (const required of REQUIRED) {
    if (!headers.has(required)) return fail(`missing ${required}`);
  }
  const cseq = parseCSeq(headers.get('cseq')!);
  if (!cseq) return fail('bad CSeq');

  if (first.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(first);
    if (!m) return fail('bad status line');
    return { kind: 'response', status: Number(m[1]), reason: m[2] ?? '', headers, body };
  }
  const m = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP\/2\.0$/.exec(first);
  if (!m) return fail('bad request line');
  const method = m[1]!;
  if (cseq.method !== method) return fail('CSeq method does not match');
  return { kind: 'request', method, uri: m[2]!, headers, body };
}

export function serialize(msg: SipMessage): Buffer {
  let head =
    msg.kind === 'request'
      ? `${msg.method} ${msg.uri} SIP/2.0\r\n`
      : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  for (const h of msg.headers.entries()) {
    if (h.name === 'content-length') continue;
    head += `${canonicalName(h.name)}: ${h.value}\r\n`;
  }
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  // One buffer for head and body: latin1 is a byte per character, so the head's length is its size.
  const out = Buffer.allocUnsafe(head.length + msg.body.length);
  out.write(head, 0, 'latin1');
  msg.body.copy(out, head.length);
  return out;
}

/** Wire spellings already worked out: a regex replace per header per message was a hot spot. */
const spelled = new Map<string, string>();

function canonicalName(name: string): string {
  let out = spelled.get(name);
  if (out === undefined) {
    out =
      CANONICAL[name] ??
      name.replace(/(^|-)([a-z])/g, (_s, dash: string, c: string) => dash + c.toUpperCase());
    // Names come from peers too (headers we echo back): bound the table.
    if (spelled.size < 1_000) spelled.set(name, out);
  }
  return out;
}

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  // Nearly every value is a single element: skip the character walk (a hot spot for Via on every message).
  if (!value.includes(',')) {
    const one = value.trim();
    return one ? [one] : [];
  }
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < value.length) {
        cur += ch + value[++i];
        continue;
      }
      if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** `1*DIGIT LWS Method` (§20.16), read by hand: it is parsed several times for every message. */
export function parseCSeq(value: string): CSeq | undefined {
  const v = value.trim();
  let i = 0;
  while (i < v.length && i <= 10 && isDigit(v.charCodeAt(i))) i++;
  if (i === 0 || i > 10) return undefined;
  const seq = Number(v.slice(0, i));
  // §8.1.1.5: the sequence number must be expressible as a 32-bit unsigned integer.
  if (seq > 0xffffffff) return undefined;
  let j = i;
  while (j < v.length && isSpace(v.charCodeAt(j))) j++;
  if (j === i) return undefined;
  const method = v.slice(j);
  if (!TOKEN.test(method)) return undefined;
  return { seq, method };
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** What `\s` matched in the regex this replaced, as far as a header value can hold it. */
const isSpace = (c: number): boolean =>
  c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0b || c === 0x0c;

/** `;name=value;flag` parameters after a value, lower-cased names. */
export function parseParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) out.set(p.toLowerCase(), '');
    else out.set(p.slice(0, eq).trim().toLowerCase(), unquote(p.slice(eq + 1).trim()));
  }
  return out;
}

export function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}

export interface Via {
  protocol: string;
  host: string;
  port: number | undefined;
  params: Map<string, string>;
}

export function parseVia(value: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^;\s]+)\s*(;.*)?$/i.exec(value.trim());
  if (!m) return undefined;
  const hp = parseHostPort(m[2]!);
  if (!hp) return undefined;
  return { protocol: m[1]!.toUpperCase(), host: hp.host, port: hp.port, params: parseParams(m[3] ?? '') };
}

export function parseHostPort(s: string): { host: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-.]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1]!, port };
}

export interface NameAddr {
  display: string;
  uri: string;
  /** Header parameters (after the URI), e.g. tag. */
  params: Map<string, string>;
}

/** Parses From/To/Contact/Route values: `"Name" <uri>;params` or `uri;params` (§20.10). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const v = value.trim();
  const lt = indexOutsideQuotes(v, '<');
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) return undefined;
    const display = unquote(v.slice(0, lt).trim());
    return { display, uri: v.slice(lt + 1, gt).trim(), params: parseParams(v.slice(gt + 1)) };
  }
  // Without angle brackets, parameters after ';' belong to the header, not the URI.
  const semi = v.indexOf(';');
  const uri = semi < 0 ? v : v.slice(0, semi);
  if (!uri || /\s/.test(uri)) return undefined;
  return { display: '', uri, params: parseParams(semi < 0 ? '' : v.slice(semi)) };
}

function indexOutsideQuotes(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === ch) return i;
  }
  return -1;
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  host: string;
  port: number | undefined;
  params: Map<string, string>;
}

export function parseSipUri(uri: string): SipUri | undefined {
  const m = /^(sips?):(?:([^@;?]+)@)?([^;?]+)([^?]*)/i.exec(uri.trim());
  if (!m) return undefined;
  const hp = parseHostPort(m[3]!);
  if (!hp) return undefined;
  const user = m[2]?.split(':')[0];
  return {
    scheme: m[1]!.toLowerCase() as 'sip' | 'sips',
    user,
    host: hp.host,
    port: hp.port,
    params: parseParams(m[4] ?? ''),
  };
}

const TAG_PARAM = /;[ \t]*tag[ \t]*=[ \t]*([^;\s]+)/i;

export function tagOf(headerValue: string | undefined): string | undefined {
  if (!headerValue) return undefined;
  // The usual From/To (`<uri>;tag=x`, no quotes, one '<'): the tag is found without a parameter map.
  const lt = headerValue.indexOf('<');
  if (lt >= 0 && !headerValue.includes('"') && headerValue.indexOf('<', lt + 1) < 0) {
    const gt = headerValue.indexOf('>', lt);
    if (gt < 0) return undefined;
    return TAG_PARAM.exec(headerValue.slice(gt + 1))?.[1];
  }
  return parseNameAddr(headerValue)?.params.get('tag') || undefined;
}

const BRANCH_PARAM = /;[ \t]*branch[ \t]*=[ \t]*([^;\s]+)/i;

/**
 * The top Via's branch (transaction matching, §17.1.3, §17.2.3), or '' when it has none: read without
 * parsing the whole Via (a regex, a host check and a parameter map, for every message in and out).
 */
export function topViaBranch(msg: SipMessage): string {
  const field = msg.headers.get('via');
  if (field === undefined) return '';
  const top = field.includes(',') ? (splitList(field)[0] ?? '') : field;
  return BRANCH_PARAM.exec(top)?.[1] ?? '';
}

export function cseqOf(msg: SipMessage): CSeq {
  // The parser guarantees a valid CSeq on every message it returns.
  return parseCSeq(msg.headers.get('cseq') ?? '') ?? { seq: 0, method: '' };
}

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  400: 'Bad Request',
  405: 'Method Not Allowed',
  481: 'Call/Transaction Does Not Exist',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  603: 'Decline',
};

/** Builds a response to `req` per §8.2.6: copies Via, From, To, Call-ID, CSeq; adds our To tag if missing. */
export function makeResponse(req: SipRequest, status: number, toTag?: string, reason?: string): SipResponse {
  const headers = new Headers();
  for (const v of req.headers.getAll('via')) headers.append('via', v);
  headers.append('from', req.headers.get('from')!);
  let to = req.headers.get('to')!;
  if (toTag && !tagOf(to) && status > 100) to = `${to};tag=${toTag}`;
  headers.append('to', to);
  headers.append('call-id', req.headers.get('call-id')!);
  headers.append('cseq', req.headers.get('cseq')!);
  return {
    kind: 'response',
    status,
    reason: reason ?? REASONS[status] ?? 'Unknown',
    headers,
    body: NO_BODY,
  };
}

/**
 * A request belonging to an INVITE's transaction: the CANCEL (§9.1) and the ACK of a non-2xx final response
 * (§17.1.1.3) both copy the INVITE's Request-URI, top Via (so its branch), Route, From, Call-ID and CSeq
 * number, with their own method. `to` is the INVITE's To for a CANCEL and the response's for that ACK.
 */
export function sameTransactionRequest(invite: SipRequest, method: 'ACK' | 'CANCEL', to: string): SipRequest {
  const h = new Headers();
  h.append('via', invite.headers.getAll('via')[0]!);
  for (const r of invite.headers.getAll('route')) h.append('route', r);
  h.append('max-forwards', '70');
  h.append('from', invite.headers.get('from')!);
  h.append('to', to);
  h.append('call-id', invite.headers.get('call-id')!);
  h.append('cseq', `${cseqOf(invite).seq} ${method}`);
  return { kind: 'request', method, uri: invite.uri, headers: h, body: NO_BODY };
}
