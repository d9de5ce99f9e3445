/**
 * HTTP Digest for SIP (RFC 3261 §22.4, RFC 2617): MD5 with qop=auth, or the legacy no-qop form.
 * MD5-sess and auth-int are not offered by the trunks we target; a challenge needing them is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { unquote } from './message.ts';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: string;
  qop: string[];
  stale: boolean;
}

export function parseChallenge(value: string): DigestChallenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)/g;
  for (let r = re.exec(m[1]!); r; r = re.exec(m[1]!)) params.set(r[1]!.toLowerCase(), unquote(r[2]!));
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || !nonce) return undefined;
  return {
    realm,
    nonce,
    opaque: params.get('opaque'),
    algorithm: params.get('algorithm') ?? 'MD5',
    qop: (params.get('qop') ?? '')
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter(Boolean),
    stale: params.get('stale')?.toLowerCase() === 'true',
  };
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

export interface DigestInput {
  challenge: DigestChallenge;
  method: string;
  uri: string;
  username: string;
  password: string;
  nc?: number;
  cnonce?: string;
}

/** The Authorization / Proxy-Authorization value, or undefined if the challenge asks for what we lack. */
export function digestAuthorization(input: DigestInput): string | undefined {
  const { challenge: c, method, uri, username, password } = input;
  if (c.algorithm.toUpperCase() !== 'MD5') return undefined;
  const useQop = c.qop.includes('auth');
  if (c.qop.length && !useQop) return undefined;
  const ha1 = md5(`${username}:${c.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const nc = (input.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
  const response = useQop
    ? md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`)
    : md5(`${ha1}:${c.nonce}:${ha2}`);
  const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(username)}`,
    `realm=${q(c.realm)}`,
    `nonce=${q(c.nonce)}`,
    `uri=${q(uri)}`,
    `response=${q(response)}`,
    'algorithm=MD5',
  ];
  if (c.opaque !== undefined) parts.push(`opaque=${q(c.opaque)}`);
  if (useQop) parts.push('qop=auth', `nc=${nc}`, `cnonce=${q(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
