/**
 * POSTs to tenants' callback URLs without letting them reach inside the service's network:
 *
 * - the URL is checked again at send time (src/domain/callback-url.ts);
 * - a host name is resolved by our own `lookup`, which refuses private addresses before the socket
 *   connects — the address checked is the address used, so DNS rebinding gains nothing;
 * - redirects are never followed (a 3xx is a failed delivery), so a receiver cannot bounce the POST
 *   to a loopback port;
 * - the whole exchange has one deadline, and at most 64 KB of the answer is read.
 *
 * Written on node:http because fetch() offers no hook between name resolution and connect.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressRefusal, type CallbackPolicy, checkCallbackUrl } from '../domain/callback-url.ts';

export class CallbackRefused extends Error {
  override name = 'CallbackRefused';
}

function guardedLookup(policy: CallbackPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      for (const { address } of addresses) {
        const refusal = addressRefusal(address, policy);
        if (refusal) return callback(new CallbackRefused(`${hostname} resolves to ${refusal}`), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new CallbackRefused(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 4 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 4 }),
};

/** POSTs a JSON body; resolves with the HTTP status, rejects on refusal, network error or deadline. */
export function postCallback(
  rawUrl: string,
  body: string,
  options: CallbackPolicy & { timeoutMs: number },
): Promise<number> {
  const checked = checkCallbackUrl(rawUrl, options);
  if (typeof checked === 'string') return Promise.reject(new CallbackRefused(`callback URL ${checked}`));
  const url = checked;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST',
      agent: url.protocol === 'https:' ? agents.https : agents.http,
      lookup: guardedLookup(options),
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const deadline = setTimeout(
      () => request.destroy(new Error(`callback did not answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    request.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    request.on('response', (response) => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > 64 * 1024) response.destroy();
      });
      const done = () => {
        clearTimeout(deadline);
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400)
          reject(
            new CallbackRefused(`callback answered a redirect (HTTP ${status}); redirects are not followed`),
          );
        else resolve(status);
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.end(body);
  });
}
