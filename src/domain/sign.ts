/**
 * Request signatures (spec §1). The compatible scheme is MD5(apiKey + apiSecret + timestamp): the same Sign
 * is valid for a whole second, so it cannot stop replays. The optional strong scheme is an HMAC-SHA256 over
 * timestamp, a single-use nonce, method, path and body.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const timestampWindowSeconds = 300;

export function compatSign(apiKey: string, apiSecret: string, timestamp: string): string {
  return createHash('md5')
    .update(apiKey + apiSecret + timestamp)
    .digest('hex');
}

export function hmacSign(
  apiSecret: string,
  parts: { timestamp: string; nonce: string; method: string; path: string; body: string },
): string {
  const payload = [parts.timestamp, parts.nonce, parts.method.toUpperCase(), parts.path, parts.body].join(
    '\n',
  );
  return createHmac('sha256', apiSecret).update(payload).digest('hex');
}

/** Case-insensitive, constant-time comparison of two hex signatures. */
export function signaturesMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(given.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

export function timestampInWindow(timestamp: string, nowMs: number): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(Number(timestamp) * 1000 - nowMs) <= timestampWindowSeconds * 1000;
}
