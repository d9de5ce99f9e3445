/**
 * Authentication comes first (issue 13): key, timestamp, signature and IP are checked before a byte of
 * the body is read; the strong scheme's HMAC is checked on the raw body before it is parsed; callers
 * without credentials learn nothing (not the schema, not which keys exist); TRUST_PROXY trusts only the
 * hops it is told to.
 */
import { request as httpRequest } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.ts';
import { defaultQuotas, parseTrustProxy } from '../../src/config.ts';
import { compatSign, hmacSign } from '../../src/domain/sign.ts';
import { newAccount, startService, type TestAccount, type TestService } from '../helpers/harness.ts';

describe('authentication before the body', () => {
  let service: TestService;
  let account: TestAccount;
  let port: number;

  beforeAll(async () => {
    service = await startService({ start: false });
    account = await newAccount(service.db);
    await service.ring.server.listen({ port: 0, host: '127.0.0.1' });
    port = (service.ring.server.server.address() as { port: number }).port;
  });
  afterAll(async () => service?.close());

  const inject = (headers: Record<string, string>, payload: string, url = '/voice/group/call/send') =>
    service.ring.server.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });

  it('gives an unauthenticated caller the same -1 for an unknown key and a wrong Sign, and no schema', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const unknown = await inject({ 'Api-Key': 'nobody', Timestamp: ts, Sign: 'x' }, '{}');
    const wrong = await inject(
      { 'Api-Key': account.apiKey, Timestamp: ts, Sign: compatSign(account.apiKey, 'no', ts) },
      '{}',
    );
    expect(unknown.json()).toMatchObject({ status: '-1' });
    expect(wrong.json()).toEqual(unknown.json());
    // A body that would fail validation is not even looked at.
    expect(unknown.json().reason).not.toMatch(/taskName|required/);
    const hmacUnknown = await inject(
      { 'Api-Key': 'nobody', Timestamp: ts, Nonce: 'abcdefgh1', Signature: '0'.repeat(64) },
      '{}',
    );
    expect(hmacUnknown.json()).toEqual(unknown.json());
    const hmacWrong = await inject(
      { 'Api-Key': account.apiKey, Timestamp: ts, Nonce: 'abcdefgh2', Signature: '0'.repeat(64) },
      '{"taskName":"x"}',
    );
    expect(hmacWrong.json()).toEqual(unknown.json());
    // Header-only refusals (stale Timestamp, bad Nonce) read the same for a known and an unknown key.
    const headerOnly: Array<Record<string, string>> = [
      { Timestamp: '1', Sign: 'x' },
      { Timestamp: ts, Nonce: 'bad', Signature: 'x' },
    ];
    for (const headers of headerOnly) {
      const known = await inject({ 'Api-Key': account.apiKey, ...headers }, '{}');
      const nobody = await inject({ 'Api-Key': 'nobody', ...headers }, '{}');
      expect(known.json()).toEqual(nobody.json());
    }
  });

  it('checks the HMAC over the raw body before parsing it: a wrong Signature on broken JSON is -1, not -22', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const broken = '{"current": 1, "size":';
    const bad = await inject(
      { 'Api-Key': account.apiKey, Timestamp: ts, Nonce: 'nonce-raw-1', Signature: 'a'.repeat(64) },
      broken,
      '/voice/fileQuery',
    );
    expect(bad.json()).toMatchObject({ status: '-1' });
    const signature = hmacSign(account.apiSecret, {
      timestamp: ts,
      nonce: 'nonce-raw-2',
      method: 'POST',
      path: '/voice/fileQuery',
      body: broken,
    });
    const good = await inject(
      { 'Api-Key': account.apiKey, Timestamp: ts, Nonce: 'nonce-raw-2', Signature: signature },
      broken,
      '/voice/fileQuery',
    );
    expect(good.json()).toMatchObject({ status: '-22', reason: expect.stringContaining('JSON') });
    // A bodiless GET with the strong scheme is verified too.
    const getSig = hmacSign(account.apiSecret, {
      timestamp: ts,
      nonce: 'nonce-get-1',
      method: 'GET',
      path: '/voice/tts/languages',
      body: '',
    });
    const get = await service.ring.server.inject({
      method: 'GET',
      url: '/voice/tts/languages',
      headers: { 'Api-Key': account.apiKey, Timestamp: ts, Nonce: 'nonce-get-1', Signature: getSig },
    });
    expect(get.json()).toMatchObject({ status: '0' });
    const getBad = await service.ring.server.inject({
      method: 'GET',
      url: '/voice/tts/languages',
      headers: { 'Api-Key': account.apiKey, Timestamp: ts, Nonce: 'nonce-get-2', Signature: getSig },
    });
    expect(getBad.json()).toMatchObject({ status: '-1' });
  });

  it('rejects 20 parallel unauthenticated 50 MB bodies without reading them: RSS stays within 100 MB of its baseline', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20); // one buffer, written again and again: the client allocates nothing
    const bodyBytes = 50 * 1024 * 1024;
    const send = (headers: Record<string, string>, url: string) =>
      new Promise<{ status?: string; written: number }>((resolve) => {
        let written = 0;
        let settled = false;
        const done = (status?: string) => {
          if (settled) return;
          settled = true;
          req.destroy();
          resolve({ status, written });
        };
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: url,
          headers: { 'content-type': 'application/json', 'content-length': String(bodyBytes), ...headers },
        });
        req.on('response', (response) => {
          let text = '';
          response.on('data', (c: Buffer) => {
            text += c.toString();
          });
          response.on('end', () => done((JSON.parse(text) as { status: string }).status));
          response.on('error', () => done());
        });
        req.on('error', () => done());
        const pump = () => {
          while (written < bodyBytes && !settled) {
            written += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!settled) req.end();
        };
        pump();
      });
    const ts = String(Math.floor(Date.now() / 1000));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const kinds: Array<{ headers: Record<string, string>; url: string }> = [
      { headers: {}, url: '/voice/group/call/send' }, // no credentials
      { headers: { 'Api-Key': 'nobody', Timestamp: ts, Sign: 'x' }, url: '/voice/group/call/send' },
      {
        headers: { 'Api-Key': account.apiKey, Timestamp: ts, Sign: 'f'.repeat(32) },
        url: '/v3/voice/group/call/send',
      },
      { headers: { 'Api-Key': account.apiKey, Timestamp: '1', Sign: 'x' }, url: '/voice/fileUpload' },
      { headers: {}, url: '/voice/no/such/path' },
    ];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(kinds[i % kinds.length]!.headers, kinds[i % kinds.length]!.url),
      ),
    );
    clearInterval(sampler);
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.info(
      `unauthenticated 20 × 50 MB: RSS peak +${growthMb.toFixed(1)} MB; answers ${results.map((r) => r.status).join(',')}; client wrote ≤ ${Math.max(...results.map((r) => r.written)) / 1048576} MB per request before the server closed`,
    );
    for (const result of results) expect(['-1', '-16', '-24']).toContain(result.status);
    expect(growthMb).toBeLessThan(100);
    // The service is still answering.
    const health = await service.ring.server.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  }, 60_000);
});

describe('TRUST_PROXY', () => {
  it('takes a hop count or proxy addresses; `true` (trust every hop) is refused with a way out', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('10.0.0.5, 10.0.1.0/24,::1')).toEqual(['10.0.0.5', '10.0.1.0/24', '::1']);
    expect(() => parseTrustProxy('true')).toThrow(/hop count|TRUST_PROXY=1/);
    expect(() => parseTrustProxy('proxy.example')).toThrow(/not a hop count/);
    expect(() => parseTrustProxy('10.0.0.0/33')).toThrow();
  });

  let service: TestService;
  let limited: TestAccount;
  beforeAll(async () => {
    service = await startService({ start: false });
    limited = await newAccount(service.db, { ipAllowList: ['10.1.2.3'] });
  });
  afterAll(async () => service?.close());

  /** The API as configured with this TRUST_PROXY, on the same database. */
  const serverWith = (setting: string | undefined) =>
    buildServer({
      db: service.db,
      clock: service.clock,
      media: service.ring.media,
      log: pino({ level: 'silent' }),
      trustProxy: parseTrustProxy(setting),
      quotas: defaultQuotas,
    });
  const viaProxy = async (server: Awaited<ReturnType<typeof buildServer>>, forwardedFor: string) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const response = await server.inject({
      method: 'POST',
      url: '/voice/fileQuery',
      remoteAddress: '127.0.0.1',
      headers: {
        'content-type': 'application/json',
        'Api-Key': limited.apiKey,
        Timestamp: ts,
        Sign: compatSign(limited.apiKey, limited.apiSecret, ts),
        'X-Forwarded-For': forwardedFor,
      },
      payload: '{"current":1,"size":10}',
    });
    return (response.json() as { status: string }).status;
  };

  for (const setting of ['1', '127.0.0.1']) {
    it(`TRUST_PROXY=${setting}: a client that writes the allowed IP first in X-Forwarded-For is still refused (-2)`, async () => {
      const server = await serverWith(setting);
      // The proxy appends the address it saw; the spoofed first entry must not count.
      expect(await viaProxy(server, '10.1.2.3, 198.51.100.7')).toBe('-2');
      expect(await viaProxy(server, '198.51.100.7, 10.1.2.3')).toBe('0');
      expect(await viaProxy(server, '10.1.2.3')).toBe('0');
      await server.close();
    });
  }

  it('TRUST_PROXY unset: X-Forwarded-For is ignored altogether', async () => {
    const server = await serverWith(undefined);
    expect(await viaProxy(server, '10.1.2.3')).toBe('-2');
    await server.close();
  });
});
