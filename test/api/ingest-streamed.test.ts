/**
 * A send's callees COPYed into PostgreSQL while its body is still arriving (issue 16,
 * src/api/streamed-callees.ts). SEND_STREAM_MIN_BYTES=0 streams every send here. On PGlite the same sends
 * take the buffered path: the outcomes asserted are the same; only the stream counters are PostgreSQL's.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calleeZoneOf } from '../../src/api/callee-zones.ts';
import { streamedSendCounts, streamedSendsOpen } from '../../src/api/streamed-callees.ts';
import {
  type ApiCall,
  apiClient,
  newAccount,
  signedHeaders,
  startService,
  type TestAccount,
  type TestService,
  waitFor,
} from '../helpers/harness.ts';

describe('send: callees streamed into the database while the body is read', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  let onPostgres = false;
  const base = (taskName: string) => ({
    appId: account.appId,
    taskName,
    source: 3,
    text: 'Hello ${text1}',
    lan: 'en',
    sendTime: '2030-01-01 00:00:00',
  });
  const counts = () => ({ ...streamedSendCounts });
  const storedCalls = async () =>
    (
      await service.db.query<{ n: number }>('SELECT count(*)::int AS n FROM calls WHERE account_id = $1', [
        account.accountId,
      ])
    )[0]!.n;
  const reservations = async () =>
    (await service.db.query<{ n: number }>('SELECT count(*)::int AS n FROM task_id_reservations'))[0]!.n;

  beforeAll(async () => {
    service = await startService({ start: false, env: { SEND_STREAM_MIN_BYTES: '0' } });
    account = await newAccount(service.db);
    call = apiClient(service, account);
    onPostgres = service.db.kind === 'postgres';
  });
  afterAll(async () => service?.close());

  it('stores a streamed list as the buffered path does: texts, order, zones, repeats dropped, count', async () => {
    const before = counts();
    const list: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 3_000; i++) {
      const entry: Record<string, unknown> = {
        calleeNumber: `${i % 2 ? '+' : ''}${i % 3 ? '86' : '1213'}${13_900_000_000 + i}`,
      };
      for (let t = 1; t <= 10; t++) if ((i + t) % 4) entry[`text${t}`] = `t${t} "q",\n ü 名 ${i}`;
      list.push(entry);
    }
    list[1]!.text2 = '';
    list[2]!.text3 = null;
    list[3]!.text4 = 'x'.repeat(40);
    list[4]!.text5 = 12345; // the long way: coerced
    list[5]!.calleeNumber = 8613900000005;
    list[6]!.extra = 'ignored'; // the long way: a field the schema allows
    list[7]!.text6 = '😀 paired surrogates are fine';
    list.push({ ...list[0], text1: 'a repeat is dropped' });
    const sent = await call<number>('/voice/group/call/send', { ...base('streamed'), numberInfoList: list });
    expect(sent.status, sent.reason).toBe('0');
    const rows = await service.db.query<Record<string, string | number | null>>(
      `SELECT seq, callee, callee_zone, text1, text2, text3, text4, text5, text6, text7, text8, text9, text10
       FROM calls WHERE task_id = $1 ORDER BY seq`,
      [sent.data],
    );
    expect(rows).toHaveLength(3_000);
    rows.forEach((row, i) => {
      const given = list[i]!;
      const number = String(given.calleeNumber).replace(/^\+/, '');
      expect(row.seq).toBe(i);
      expect(row.callee).toBe(number);
      expect(row.callee_zone).toBe(calleeZoneOf(number));
      for (let t = 1; t <= 10; t++) {
        const value = given[`text${t}`];
        const expected =
          value === '' || value === null || value === undefined ? null : String(value).slice(0, 30);
        expect(row[`text${t}`], `row ${i} text${t}`).toBe(expected);
      }
    });
    const [task] = await service.db.query<{ num_cnt: number; name: string }>(
      'SELECT num_cnt, name FROM tasks WHERE id = $1',
      [sent.data],
    );
    expect(task).toEqual({ num_cnt: 3_000, name: 'streamed' });
    expect(await reservations()).toBe(0);
    if (onPostgres) {
      expect(counts().opened - before.opened).toBe(1);
      expect(counts().committed - before.committed).toBe(1);
    }
    expect(streamedSendsOpen()).toBe(0);
  }, 60_000);

  it('rolls back everything streamed when the body is refused after its list was read', async () => {
    const list = Array.from({ length: 500 }, (_, i) => ({ calleeNumber: `86${13_800_000_000 + i}` }));
    const callsBefore = await storedCalls();
    const before = counts();
    const refusals: Array<[unknown, string, string]> = [
      [{ ...base('bad setting'), numberInfoList: list, source: 9 }, '-22', 'source'],
      [{ ...base('no such app'), numberInfoList: list, appId: 999_999 }, '-24', 'appId 999999'],
      [
        { ...base('bad entry'), numberInfoList: [...list, { calleeNumber: '86abc' }] },
        '-22',
        'numberInfoList[500].calleeNumber',
      ],
      [{ ...base('x'), numberInfoList: list }, '-22', 'taskName'],
    ];
    for (const [body, status, field] of refusals) {
      const answer = await call('/voice/group/call/send', body);
      expect(answer.status, JSON.stringify(answer)).toBe(status);
      expect(answer.reason).toContain(field);
      // Rolled back by the time the answer is out or just after (onResponse).
      await waitFor('streamed sends closed', async () => streamedSendsOpen() === 0, 5_000);
    }
    const first = await call<number>('/voice/group/call/send', {
      ...base('taken name'),
      numberInfoList: list,
    });
    expect(first.status).toBe('0');
    const again = await call('/voice/group/call/send', { ...base('taken name'), numberInfoList: list });
    expect(again).toMatchObject({ status: '-20' });
    await waitFor('streamed sends closed', async () => streamedSendsOpen() === 0, 5_000);
    expect(await storedCalls()).toBe(callsBefore + 500);
    expect(await reservations()).toBe(0);
    if (onPostgres) {
      expect(counts().opened - before.opened).toBe(refusals.length + 2);
      expect(counts().rolledBack - before.rolledBack).toBe(refusals.length + 1);
    }
  }, 60_000);

  it('keeps the list the body ends up with when a later list replaces the streamed one', async () => {
    const body = `${JSON.stringify(base('two lists')).slice(0, -1)},"numberList":["8613700000001","8613700000002"],"numberInfoList":[{"calleeNumber":"8613700000003","text1":"kept"}]}`;
    const sent = await call<number>('/voice/group/call/send', body);
    expect(sent.status, sent.reason).toBe('0');
    const rows = await service.db.query<{ callee: string; text1: string }>(
      'SELECT callee, text1 FROM calls WHERE task_id = $1',
      [sent.data],
    );
    expect(rows).toEqual([{ callee: '8613700000003', text1: 'kept' }]);
    await waitFor('streamed sends closed', async () => streamedSendsOpen() === 0, 5_000);
  });

  it('streams two sends at a time and reads a third whole meanwhile; all three are stored', async () => {
    const before = counts();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each body stops after its first half until all three requests are in.
    const body = (name: string, first: number) => {
      const entries = Array.from({ length: 400 }, (_, i) =>
        JSON.stringify({ calleeNumber: `86${first + i}` }),
      );
      return Readable.from(
        (async function* () {
          yield Buffer.from(
            `${JSON.stringify(base(name)).slice(0, -1)},"numberInfoList":[${entries.slice(0, 200).join(',')},`,
          );
          await held;
          yield Buffer.from(`${entries.slice(200).join(',')}]}`);
        })(),
      );
    };
    const sends = ['at once 1', 'at once 2', 'at once 3'].map((name, k) =>
      service.ring.server.inject({
        method: 'POST',
        url: '/voice/group/call/send',
        headers: signedHeaders(account),
        payload: body(name, 13_500_000_000 + k * 1_000),
      }),
    );
    if (onPostgres) await waitFor('two streamed sends open', async () => streamedSendsOpen() === 2, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const answers = await Promise.all(sends);
    for (const answer of answers) expect(answer.json()).toMatchObject({ status: '0' });
    const stored = await service.db.query<{ name: string; num_cnt: number; n: number }>(
      `SELECT t.name, t.num_cnt, (SELECT count(*)::int FROM calls c WHERE c.task_id = t.id) AS n
       FROM tasks t WHERE t.account_id = $1 AND t.name LIKE 'at once %' ORDER BY t.name`,
      [account.accountId],
    );
    expect(stored).toEqual(
      ['at once 1', 'at once 2', 'at once 3'].map((name) => ({ name, num_cnt: 400, n: 400 })),
    );
    if (onPostgres) {
      expect(counts().opened - before.opened).toBe(2);
      expect(counts().committed - before.committed).toBe(2);
    }
    expect(streamedSendsOpen()).toBe(0);
  });

  it('leaves nothing when the client goes away in the middle of the body', async () => {
    const port = await service.ring.server
      .listen({ host: '127.0.0.1', port: 0 })
      .then(() => (service.ring.server.server.address() as AddressInfo).port);
    const callsBefore = await storedCalls();
    const before = counts();
    const head = `${JSON.stringify(base('dropped')).slice(0, -1)},"numberInfoList":[`;
    const entries = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ calleeNumber: `86${13_600_000_000 + i}`, text1: `n ${i}` }),
    ).join(',');
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/voice/group/call/send',
      method: 'POST',
      headers: { ...signedHeaders(account), 'content-length': String(head.length + entries.length * 2) },
    });
    req.on('error', () => undefined);
    req.write(head + entries);
    if (onPostgres)
      await waitFor('a streamed send opened', async () => counts().opened > before.opened, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    req.destroy();
    await waitFor('streamed sends closed', async () => streamedSendsOpen() === 0, 10_000);
    expect(await storedCalls()).toBe(callsBefore);
    expect(await reservations()).toBe(0);
    const [named] = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE account_id = $1 AND name = 'dropped'",
      [account.accountId],
    );
    expect(named!.n).toBe(0);
    if (onPostgres) expect(counts().rolledBack - before.rolledBack).toBe(1);
  }, 30_000);
});
