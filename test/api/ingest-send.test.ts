/**
 * Ingest of `/voice/group/call/send` (issue 16): the callee list is read as a stream, capped while it is
 * read, and checked entry by entry with the answers of the whole-body path.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacSign } from '../../src/domain/sign.ts';
import {
  apiClient,
  newAccount,
  signedHeaders,
  startService,
  type TestAccount,
  type TestService,
} from '../helpers/harness.ts';

const mib = 1024 * 1024;

describe('send: streamed callee list', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ReturnType<typeof apiClient>;
  const base = () => ({
    appId: account.appId,
    taskName: 'ingest',
    source: 3,
    text: 'Hello ${text1}',
    lan: 'en',
  });
  const headers = () => signedHeaders(account);

  beforeAll(async () => {
    service = await startService({ start: false });
    account = await newAccount(service.db);
    call = apiClient(service, account);
  });
  afterAll(async () => service?.close());

  it('refuses a 300,000-callee body with -23 once the list passes 200,000, without reading the rest or ballooning RSS', async () => {
    const entry = (i: number) =>
      JSON.stringify({ calleeNumber: `86${13_000_000_000 + i}`, text1: `name ${i}`, text2: 'x'.repeat(20) });
    const total = 300_000;
    let produced = 0;
    let sentBytes = 0;
    // Generated as it is read: the only copy of the body is the part the server pulled.
    function* chunks() {
      let chunk = `${JSON.stringify({ ...base(), taskName: 'too many' }).slice(0, -1)},"numberInfoList":[`;
      for (let i = 0; i < total; i++) {
        chunk += (i === 0 ? '' : ',') + entry(i);
        if (chunk.length >= 64 * 1024) {
          produced = i + 1;
          sentBytes += chunk.length;
          yield Buffer.from(chunk);
          chunk = '';
        }
      }
      produced = total;
      yield Buffer.from(`${chunk}]}`);
    }
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    const response = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/group/call/send',
      headers: headers(),
      payload: Readable.from(chunks(), { objectMode: false }),
    });
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(response.json()).toMatchObject({
      status: '-23',
      reason: 'numberInfoList: at most 200000 numbers per task',
    });
    // Stopped at the entry past the cap (give or take the stream's read-ahead), not at the end of the body.
    expect(produced).toBeLessThan(210_000);
    expect(sentBytes).toBeGreaterThan(0);
    expect((peak - before) / mib).toBeLessThan(100);
    const [row] = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE name = 'too many'",
    );
    expect(row!.n).toBe(0);
  }, 120_000);

  it('stores 5,000 callees with their text fields exactly: cut to 30, empty dropped, numbers coerced, first of a repeat kept', async () => {
    const list: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 5_000; i++) {
      const entry: Record<string, unknown> = { calleeNumber: `${i % 2 ? '+' : ''}86${13_900_000_000 + i}` };
      for (let t = 1; t <= 10; t++) entry[`text${t}`] = `t${t} "q",\n ü 名 ${i}`;
      list.push(entry);
    }
    list[1]!.text2 = '';
    list[2]!.text3 = null;
    list[3]!.text4 = 'x'.repeat(40);
    list[4]!.text5 = 12345;
    list[5]!.calleeNumber = 8613900000005; // a number, coerced like the whole-body path did
    list.push({ ...list[0], text1: 'a repeat is dropped' });
    const sent = await call<number>('/voice/group/call/send', {
      ...base(),
      taskName: 'five thousand',
      sendTime: '2030-01-01 00:00:00',
      numberInfoList: list,
    });
    expect(sent.status, sent.reason).toBe('0');
    const rows = await service.db.query<Record<string, string | null>>(
      `SELECT seq, callee, text1, text2, text3, text4, text5, text6, text7, text8, text9, text10
       FROM calls WHERE task_id = $1 ORDER BY seq`,
      [sent.data],
    );
    expect(rows).toHaveLength(5_000);
    rows.forEach((row, i) => {
      const given = list[i]!;
      expect(row.callee).toBe(String(given.calleeNumber).replace(/^\+/, ''));
      for (let t = 1; t <= 10; t++) {
        const value = given[`text${t}`];
        const expected = value === '' || value === null ? null : String(value).slice(0, 30);
        expect(row[`text${t}`], `row ${i} text${t}`).toBe(expected);
      }
    });
    const [task] = await service.db.query<{ num_cnt: number }>('SELECT num_cnt FROM tasks WHERE id = $1', [
      sent.data,
    ]);
    expect(task!.num_cnt).toBe(5_000);
  }, 60_000);

  const cases: Array<[string, Record<string, unknown> | string, string, string]> = [
    [
      'a bad appId before a bad entry: appId first (schema order)',
      {
        appId: 'x',
        taskName: 'ok task',
        source: 3,
        numberInfoList: [{ calleeNumber: '8613800000001', text1: {} }],
      },
      '-22',
      'appId: must be integer',
    ],
    [
      'a missing taskName and a bad entry: the required field first',
      { appId: 1, source: 3, numberInfoList: [{ calleeNumber: '8613800000001', text1: [] }] },
      '-22',
      'taskName: is required',
    ],
    [
      'a bad entry and a bad setting after the list: the entry first',
      {
        appId: 1,
        taskName: 'ok task',
        source: 9,
        numberInfoList: [{ calleeNumber: '8613800000001' }, { calleeNumber: '8613800000002', text1: {} }],
      },
      '-22',
      'numberInfoList[1].text1: must be string',
    ],
    [
      'an empty calleeNumber is absent',
      { appId: 1, taskName: 'ok task', source: 3, numberInfoList: [{ calleeNumber: '' }] },
      '-22',
      'numberInfoList[0].calleeNumber: is required',
    ],
    [
      'an entry that is not an object',
      { appId: 1, taskName: 'ok task', source: 3, numberInfoList: ['8613800000001'] },
      '-22',
      'numberInfoList[0]: must be object',
    ],
    [
      'a list that is not an array',
      { appId: 1, taskName: 'ok task', source: 3, numberInfoList: { a: { calleeNumber: '8613800000001' } } },
      '-22',
      'numberInfoList: must be array',
    ],
    [
      'appId 0 and an empty list: the schema first',
      { appId: 0, taskName: 'ok task', source: 3, numberInfoList: [] },
      '-22',
      'appId: must be >= 1',
    ],
    [
      'a numberList entry too long',
      { appId: 1, taskName: 'ok task', source: 3, numberList: ['8613800000001', '9'.repeat(41)] },
      '-22',
      'numberList[1]: must NOT have more than 40 characters',
    ],
    [
      'NUL deep in the list',
      {
        appId: 1,
        taskName: 'ok task',
        source: 3,
        numberInfoList: [
          { calleeNumber: '8613800000001' },
          { calleeNumber: '8613800000002', text4: 'a\u0000' },
        ],
      },
      '-22',
      'numberInfoList[1].text4: must not contain NUL characters or unpaired surrogates',
    ],
    [
      'a __proto__ key in an entry',
      '{"appId":1,"taskName":"ok task","source":3,"numberInfoList":[{"calleeNumber":"8613800000001","__proto__":{"x":1}}]}',
      '-22',
      'numberInfoList[0]: has a field name that is not allowed',
    ],
    [
      'NUL in the list and broken JSON later: the JSON error first',
      '{"appId":1,"numberInfoList":[{"calleeNumber":"86\\u0000"}],"taskName":',
      '-22',
      'body: must be valid JSON',
    ],
    ['an empty body', '', '-22', 'appId: is required'],
  ];
  for (const [name, body, code, reason] of cases) {
    it(`answers ${code} "${reason}" for ${name}`, async () => {
      const response = await call('/voice/group/call/send', body);
      expect(response).toMatchObject({ status: code, reason });
    });
  }

  it('answers the digits rule, "at least one number" and a repeated list key as before', async () => {
    const digits = await call('/voice/group/call/send', {
      ...base(),
      numberInfoList: [{ calleeNumber: '8613800000001' }, { calleeNumber: '86abc' }, { calleeNumber: '1' }],
    });
    expect(digits).toMatchObject({
      status: '-22',
      reason: 'numberInfoList[1].calleeNumber: must be 6-18 digits with country code',
    });
    const empty = await call('/voice/group/call/send', { ...base(), numberInfoList: [] });
    expect(empty).toMatchObject({
      status: '-22',
      reason: 'numberInfoList: is required (at least one number)',
    });
    // JSON.parse keeps the last of a repeated key; so does the stream.
    const repeated = `${JSON.stringify({ ...base(), taskName: 'repeated key', sendTime: '2030-01-01 00:00:00' }).slice(0, -1)},"numberInfoList":[{"calleeNumber":"8613800000001"},{"calleeNumber":"8613800000002"}],"numberInfoList":[{"calleeNumber":"8613800000003"}]}`;
    const sent = await call<number>('/voice/group/call/send', repeated);
    expect(sent.status, sent.reason).toBe('0');
    const rows = await service.db.query<{ callee: string }>('SELECT callee FROM calls WHERE task_id = $1', [
      sent.data,
    ]);
    expect(rows.map((r) => r.callee)).toEqual(['8613800000003']);
  });

  it('still applies the body size limit, from the declared length', async () => {
    const response = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/group/call/send',
      headers: { ...headers(), 'content-length': String(300 * mib) },
      payload: '{}',
    });
    expect(response.json()).toMatchObject({ status: '-23', reason: 'body: request body is too large' });
  });

  it('verifies the strong-scheme signature over the streamed raw body', async () => {
    const body = JSON.stringify({
      ...base(),
      taskName: 'signed send',
      sendTime: '2030-01-01 00:00:00',
      numberInfoList: [{ calleeNumber: '8613800000001', text1: 'ü' }],
    });
    const signedHeaders = (nonce: string, payload: string) => {
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = hmacSign(account.apiSecret, {
        timestamp: ts,
        nonce,
        method: 'POST',
        path: '/voice/group/call/send',
        body: payload,
      });
      return {
        'content-type': 'application/json',
        'Api-Key': account.apiKey,
        Timestamp: ts,
        Nonce: nonce,
        Signature: signature,
      };
    };
    const send = (headers: Record<string, string>, payload: string) =>
      service.ring.server.inject({
        method: 'POST',
        url: '/voice/group/call/send',
        headers,
        payload: Buffer.from(payload),
      });
    const tampered = await send(
      signedHeaders('nonce-ingest-1', body),
      body.replace('signed send', 'signed sent'),
    );
    expect(tampered.json()).toMatchObject({ status: '-1' });
    const good = await send(signedHeaders('nonce-ingest-2', body), body);
    expect(good.json()).toMatchObject({ status: '0' });
  });
});
