/**
 * Request signing in the browser with the API's HMAC-SHA256 scheme (docs/console.md). The console is often
 * served over plain HTTP on a LAN name, where `crypto.subtle` and `crypto.randomUUID` do not exist (they
 * need a secure context): the HMAC comes from @noble/hashes, and the nonce from `crypto.getRandomValues`,
 * which every context has.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export interface Credentials {
  apiKey: string;
  apiSecret: string;
}

export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return bytesToHex(bytes);
}

/** Headers for one request; `path` is exactly what is fetched (with its query string). */
export function signedHeaders(
  creds: Credentials,
  method: string,
  path: string,
  body: string,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = newNonce();
  const payload = [timestamp, nonce, method.toUpperCase(), path, body].join('\n');
  const signature = bytesToHex(hmac(sha256, utf8ToBytes(creds.apiSecret), utf8ToBytes(payload)));
  return { 'Api-Key': creds.apiKey, Timestamp: timestamp, Nonce: nonce, Signature: signature };
}
