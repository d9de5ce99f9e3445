/**
 * Status and agent-ringing pushes go to tenants' URLs (issue 13): one app's receiver that never answers
 * must not delay another app's pushes, and a receiver must not be able to turn the push into a request
 * inside the service's network (redirects, private addresses, names that resolve to them).
 */

import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal, checkCallbackUrl } from '../../src/domain/callback-url.ts';
import { CallbackRefused, postCallback } from '../../src/engine/callback-http.ts';
import type { TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, numbers, startService, waitFor } from '../helpers/harness.ts';

async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A host name (this machine's) that resolves to a non-public address, for the send-time DNS check. */
async function loopbackName(): Promise<string | undefined> {
  const name = hostname();
  const resolved = await lookup(name).catch(() => undefined);
  return resolved && addressRefusal(resolved.address, { allowPrivate: false }) ? name : undefined;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => resolve(body));
  });
}

describe('callback URL rules', () => {
  it('allows only http/https to public addresses unless private targets are allowed', () => {
    const strict = { allowPrivate: false };
    for (const bad of [
      'file:///etc/passwd',
      'not a url',
      'ftp://example.com/x',
      'http://user:pw@example.com/',
      'http://127.0.0.1:8080/',
      'http://10.0.0.8/',
      'http://172.16.4.4/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://localhost:9000/',
      'http://api.localhost/',
    ])
      expect(typeof checkCallbackUrl(bad, strict), bad).toBe('string');
    for (const good of [
      'https://hooks.example.com/ringcast',
      'http://93.184.216.34:8080/x',
      'http://[2606:4700::1111]/',
    ])
      expect(checkCallbackUrl(good, strict), good).toBeInstanceOf(URL);
    expect(checkCallbackUrl('http://127.0.0.1:8080/', { allowPrivate: true })).toBeInstanceOf(URL);
    expect(typeof checkCallbackUrl('file:///etc/passwd', { allowPrivate: true })).toBe('string');
    expect(addressRefusal('127.0.0.1', strict)).toMatch(/loopback/);
    expect(addressRefusal('8.8.8.8', strict)).toBeNull();
  });
});

describe('postCallback: checked at send time, on the resolved address, no redirects', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it('refuses a name that resolves to loopback before connecting (the DNS path)', async () => {
    let hits = 0;
    const { server, port } = await listen((_request, response) => {
      hits++;
      response.writeHead(200).end();
    });
    servers.push(server);
    // This machine's own name passes the name check; the loopback address it resolves to does not.
    const name = await loopbackName();
    if (!name) return console.warn(`[skip] ${hostname()} does not resolve to a private address here`);
    await expect(
      postCallback(`http://${name}:${port}/hook`, '[]', { allowPrivate: false, timeoutMs: 2000 }),
    ).rejects.toThrow(/resolves to .*loopback/);
    await expect(
      postCallback(`http://127.0.0.1:${port}/hook`, '[]', { allowPrivate: false, timeoutMs: 2000 }),
    ).rejects.toBeInstanceOf(CallbackRefused);
    expect(hits).toBe(0);
    expect(
      await postCallback(`http://127.0.0.1:${port}/hook`, '[]', { allowPrivate: true, timeoutMs: 2000 }),
    ).toBe(200);
    expect(hits).toBe(1);
  });

  it('never follows a redirect, even with private targets allowed', async () => {
    let internalHits = 0;
    const internal = await listen((_request, response) => {
      internalHits++;
      response.writeHead(200).end('secret');
    });
    const redirector = await listen((_request, response) => {
      response.writeHead(307, { location: `http://127.0.0.1:${internal.port}/admin` }).end();
    });
    servers.push(internal.server, redirector.server);
    await expect(
      postCallback(`http://127.0.0.1:${redirector.port}/hook`, '[]', { allowPrivate: true, timeoutMs: 2000 }),
    ).rejects.toThrow(/redirect/);
    expect(internalHits).toBe(0);
  });
});

describe('status push through the outbox', () => {
  let service: TestService;
  const servers: Server[] = [];

  beforeAll(async () => {
    service = await startService({ clockSpeed: 200 });
  });
  afterAll(async () => {
    await service?.close();
    for (const server of servers) server.closeAllConnections?.();
    for (const server of servers) server.close();
  });

  it("one app's receiver never answers: another app's p99 push delay stays under 2 s", async () => {
    const stuck: ServerResponse[] = [];
    const dead = await listen((_request, response) => {
      stuck.push(response); // never answered
    });
    const delays: number[] = [];
    const live = await listen(async (request, response) => {
      const records = JSON.parse(await readBody(request)) as Array<{ hangupTime: number }>;
      const now = service.clock.now();
      for (const record of records) delays.push(service.clock.toRealMs(now - record.hangupTime));
      response.writeHead(200).end();
    });
    servers.push(dead.server, live.server);
    // Calls at a steady pace (not all 200 settling in one burst): the delay measured is the push's.
    const pace = { maxConcurrency: 5, callsPerSecond: 10 };
    const deadAccount = await newAccount(service.db, {
      callbackUrl: `http://127.0.0.1:${dead.port}/hook`,
      ...pace,
    });
    const liveAccount = await newAccount(service.db, {
      callbackUrl: `http://127.0.0.1:${live.port}/hook`,
      ...pace,
    });
    const send = (account: typeof deadAccount, count: number, prefix: string) =>
      apiClient(service, account)('/voice/group/call/send', {
        appId: account.appId,
        taskName: `push ${prefix}`,
        source: 3,
        text: 'hello',
        lan: 'en',
        numberList: numbers(count, prefix),
      });
    expect((await send(deadAccount, 60, '4470000')).status).toBe('0');
    expect((await send(liveAccount, 60, '4480000')).status).toBe('0');
    await waitFor('every live record pushed', async () => delays.length >= 60, 90_000);
    // The dead receiver really was being called (and held) meanwhile.
    expect(stuck.length).toBeGreaterThan(0);
    delays.sort((x, y) => x - y);
    const p50 = delays[Math.floor(delays.length * 0.5)]!;
    const p99 = delays[Math.floor(delays.length * 0.99)]!;
    console.info(
      `push delay of the live app beside a dead one: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (n=${delays.length})`,
    );
    expect(p99).toBeLessThan(2000);
    for (const response of stuck) response.destroy();
  }, 120_000);

  it('a receiver answering 307 to a loopback port: the push is refused, nothing reaches the internal port', async () => {
    let internalHits = 0;
    const internal = await listen((_request, response) => {
      internalHits++;
      response.writeHead(200).end();
    });
    const redirector = await listen((_request, response) => {
      response.writeHead(307, { location: `http://127.0.0.1:${internal.port}/internal` }).end();
    });
    servers.push(internal.server, redirector.server);
    const account = await newAccount(service.db, { callbackUrl: `http://127.0.0.1:${redirector.port}/hook` });
    const sent = await apiClient(service, account)<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'redirected push',
      source: 3,
      text: 'hello',
      lan: 'en',
      numberList: ['4490000001'],
    });
    expect(sent.status).toBe('0');
    const row = await waitFor(
      'push refused twice',
      async () => {
        const [found] = await service.db.query<{
          attempts: number;
          last_error: string | null;
          state: string;
        }>(
          `SELECT o.attempts, o.last_error, o.state FROM push_outbox o JOIN calls c ON c.id = o.call_id
         WHERE c.task_id = $1 AND o.attempts >= 2 AND o.last_error IS NOT NULL`,
          [sent.data],
        );
        return found;
      },
      60_000,
    );
    expect(row.last_error).toMatch(/redirect/);
    expect(row.state).not.toBe('sent');
    expect(internalHits).toBe(0);
  }, 90_000);
});

describe('status push with private targets not allowed (the production default)', () => {
  it('refuses a callback on a loopback address at send time and never connects to it', async () => {
    const service = await startService({ clockSpeed: 1000, env: { CALLBACK_ALLOW_PRIVATE: '0' } });
    let hits = 0;
    const receiver = await listen((_request, response) => {
      hits++;
      response.writeHead(200).end();
    });
    try {
      const account = await newAccount(service.db, {
        callbackUrl: `http://${(await loopbackName()) ?? '127.0.0.1'}:${receiver.port}/hook`,
      });
      const sent = await apiClient(service, account)<number>('/voice/group/call/send', {
        appId: account.appId,
        taskName: 'private push',
        source: 3,
        text: 'hello',
        lan: 'en',
        numberList: ['4491000001'],
      });
      expect(sent.status).toBe('0');
      const row = await waitFor(
        'push refused',
        async () => {
          const [found] = await service.db.query<{ last_error: string | null }>(
            `SELECT o.last_error FROM push_outbox o JOIN calls c ON c.id = o.call_id WHERE c.task_id = $1 AND o.last_error IS NOT NULL`,
            [sent.data],
          );
          return found;
        },
        60_000,
      );
      expect(row.last_error).toMatch(/loopback/);
      expect(hits).toBe(0);
    } finally {
      await service.close();
      receiver.server.close();
    }
  }, 90_000);
});
