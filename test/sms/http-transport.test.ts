import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpTransport } from '../../src/sms/http-transport.ts';
import { SmsSendError } from '../../src/sms/transport.ts';

interface Received {
  method: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let url: string;
let received: Received[];
let handler: (res: ServerResponse) => void;

beforeEach(async () => {
  received = [];
  handler = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"messageId":"gw-1"}');
  server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: JSON.parse(data),
      });
      handler(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function sendError(p: Promise<unknown>): Promise<SmsSendError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(SmsSendError);
    return error as SmsSendError;
  }
  throw new Error('expected the send to fail');
}

const message = { id: 'out-1', to: '4915112345678', from: 'Ringcast', text: 'Grüße 👋 你好' };

describe('HTTP transport', () => {
  it('POSTs JSON {id, to, from, text, segments} with the bearer token', async () => {
    const t = new HttpTransport({ url, token: 'tok-123' });
    await t.send(message);
    expect(received).toEqual([
      {
        method: 'POST',
        authorization: 'Bearer tok-123',
        contentType: 'application/json',
        body: { ...message, segments: 1 },
      },
    ]);
  });

  it('sends no Authorization header without a token', async () => {
    await new HttpTransport({ url }).send(message);
    expect(received[0]?.authorization).toBeUndefined();
  });

  it('reports the segment count of a long message', async () => {
    await new HttpTransport({ url }).send({ ...message, text: 'a'.repeat(161) });
    expect(received[0]?.body).toMatchObject({ segments: 2 });
  });

  it('2xx → sent, with the provider id taken from the response messageId', async () => {
    const result = await new HttpTransport({ url }).send(message);
    expect(result).toEqual({ providerMessageIds: ['gw-1'], segments: 1 });
  });

  it('2xx without a messageId → sent, with our id as the provider id', async () => {
    handler = (res) => res.writeHead(202).end();
    const result = await new HttpTransport({ url }).send(message);
    expect(result.providerMessageIds).toEqual(['out-1']);
  });

  it('429 → retryable error', async () => {
    handler = (res) => res.writeHead(429).end('slow down');
    const error = await sendError(new HttpTransport({ url }).send(message));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/429/);
  });

  it('5xx → retryable error', async () => {
    for (const status of [500, 502, 503]) {
      handler = (res) => res.writeHead(status).end();
      expect((await sendError(new HttpTransport({ url }).send(message))).retryable).toBe(true);
    }
  });

  it('other 4xx → non-retryable error carrying the gateway body', async () => {
    for (const status of [400, 401, 404, 422]) {
      handler = (res) => res.writeHead(status).end('{"error":"bad number"}');
      const error = await sendError(new HttpTransport({ url }).send(message));
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(new RegExp(`${status}.*bad number`));
    }
  });

  it('connection refused → retryable error', async () => {
    const deadUrl = url;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    server = createServer(); // not listening: afterEach closes it harmlessly
    const error = await sendError(new HttpTransport({ url: deadUrl }).send(message));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/unreachable/);
  });

  it('no response within timeoutMs → retryable error', async () => {
    handler = () => {};
    const error = await sendError(new HttpTransport({ url, timeoutMs: 200 }).send(message));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/timed out/);
  });
});
