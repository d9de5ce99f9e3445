/**
 * The [ours] endpoints the console is built on: record filters and keyset paging, the streamed CSV export,
 * the live-progress event stream (authenticated like every request), the campaign summary, account info,
 * and audio to listen to. Each keeps one account's data from another.
 */
import type { AddressInfo } from 'node:net';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import {
  apiClient,
  newAccount,
  numbers,
  signedHeaders,
  startService,
  taskSender,
  waitFor,
} from '../helpers/harness.ts';

interface ApiRecord {
  voiceId: number;
  taskId: number;
  sourceTaskId: number;
  outRecallCount: number;
  callee: string;
  callTime: string;
  callStatus: number;
  feedbackValue: string;
}
interface RecordPage {
  total: number;
  current: number;
  size: number;
  pages: number;
  records: ApiRecord[];
}

describe('console endpoints ([ours])', () => {
  let service: TestService;
  let account: TestAccount;
  let other: TestAccount;
  let call: ApiCall;
  let otherCall: ApiCall;
  let original: number;
  let all: ApiRecord[];

  const headers = signedHeaders;
  const query = async (params: Record<string, unknown>, size = 100, current = 1, who = call) =>
    who<RecordPage>('/voice/recordGroupQuery', { current, size, params });

  beforeAll(async () => {
    service = await startService({ clockSpeed: 3000, sim: { seed: 'console-api', keyRate: 0.6 } });
    account = await newAccount(service.db);
    other = await newAccount(service.db);
    call = apiClient(service, account);
    otherCall = apiClient(service, other);
    original = await taskSender(
      call,
      account.appId,
    )({
      taskName: 'Filters',
      numberList: [...numbers(120, '4471100'), ...numbers(80, '4472200')],
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1 },
    });
    await taskSender(otherCall, other.appId)({ taskName: 'Not yours', numberList: numbers(20, '4471100') });
    await waitFor(
      'the campaign to complete',
      async () => {
        const page = await call<{ records: Array<{ status: number }> }>('/voice/recallFlow/queryPage', {
          current: 1,
          size: 1,
          params: { taskName: String(original) },
        });
        return page.data.records[0]?.status === 2;
      },
      60_000,
    );
    all = (await query({ sourceTaskId: original })).data.records;
    const more = await query({ sourceTaskId: original }, 100, 2);
    const rest = await query({ sourceTaskId: original }, 100, 3);
    all = [...all, ...more.data.records, ...rest.data.records];
  }, 90_000);
  afterAll(async () => service?.close());

  it('account info: name, time zone and apps of the signed-in key', async () => {
    const info = await call<{ timeZone: string; apps: Array<{ appId: number }> }>('/voice/account/info');
    expect(info.status).toBe('0');
    expect(info.data.timeZone).toBe('UTC+8');
    expect(info.data.apps.map((app) => app.appId)).toEqual([account.appId]);
  });

  it('filters records by campaign, round, callStatus, key, number prefix and time window', async () => {
    const detail = async (id: number) =>
      (await call<{ callNum: number; success: number }>(`/voice/group/call/detail/${id}`)).data;
    const rounds = all.filter((r) => r.outRecallCount === 1);
    expect(rounds.length).toBeGreaterThan(0);
    expect(all.length).toBe((await query({ sourceTaskId: original })).data.total);
    expect(all.length).toBe((await detail(original)).callNum + (await detail(rounds[0]!.taskId)).callNum);
    expect(new Set(all.map((r) => r.sourceTaskId))).toEqual(new Set([original]));

    const count = async (params: Record<string, unknown>) =>
      (await query({ sourceTaskId: original, ...params })).data;
    expect((await count({ outRecallCount: 1 })).total).toBe(rounds.length);
    expect((await count({ outRecallCount: 0 })).total).toBe(all.length - rounds.length);
    const answered = await count({ callStatusList: [50] });
    expect(answered.total).toBe(all.filter((r) => r.callStatus === 50).length);
    expect(answered.records.every((r) => r.callStatus === 50)).toBe(true);
    const failed = await count({ callStatusList: [10, 20, 30, 40, 60] });
    expect(failed.total + answered.total).toBe(all.length);
    const key = all.find((r) => r.feedbackValue !== '-1')!.feedbackValue;
    expect((await count({ feedbackValue: key })).total).toBe(
      all.filter((r) => r.feedbackValue === key).length,
    );
    expect((await count({ feedbackValue: '-1' })).total).toBe(
      all.filter((r) => r.feedbackValue === '-1').length,
    );
    expect((await count({ calleePrefix: '+4472200' })).total).toBe(
      all.filter((r) => r.callee.startsWith('4472200')).length,
    );
    // a time window given in UTC+8 wall time picks the records called in it
    const times = [...new Set(all.map((r) => r.callTime))].sort();
    const from = times[Math.floor(times.length / 3)]!;
    const to = times[Math.floor((2 * times.length) / 3)]!;
    const iso = (wire: string) => `${wire.replace(' ', 'T')}+08:00`;
    expect((await count({ strTime: iso(from), endTime: iso(to) })).total).toBe(
      all.filter((r) => r.callTime >= from && r.callTime <= to).length,
    );
    // by task only, no window needed; another account naming this account's task is refused as not found
    expect((await query({ taskId: original })).data.total).toBe(all.length - rounds.length);
    const theirs1 = await query({ sourceTaskId: original }, 100, 1, otherCall);
    expect([theirs1.status, theirs1.reason]).toEqual([
      '-24',
      `params.sourceTaskId ${original} does not exist`,
    ]);
    const theirs2 = await query({ taskId: original }, 100, 1, otherCall);
    expect([theirs2.status, theirs2.reason]).toEqual(['-24', `params.taskId ${original} does not exist`]);
  });

  it('pages with afterVoiceId (keyset) and with current (offset) give the same records in voiceId order', async () => {
    const ids = all.map((r) => r.voiceId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const keyset: number[] = [];
    let after = 0;
    for (;;) {
      const page = await query({ sourceTaskId: original, afterVoiceId: after }, 7);
      if (page.data.records.length === 0) break;
      expect(page.data.total).toBe(all.length);
      keyset.push(...page.data.records.map((r) => r.voiceId));
      after = keyset.at(-1)!;
    }
    expect(keyset).toEqual(ids);
    const offset: number[] = [];
    const pages = Math.ceil(all.length / 7);
    for (let current = 1; current <= pages; current++) {
      offset.push(
        ...(await query({ sourceTaskId: original }, 7, current)).data.records.map((r) => r.voiceId),
      );
    }
    expect(offset).toEqual(ids);
  });

  it('refuses a query without a task and without a window, or with a window over 31 days (-22)', async () => {
    const missing = await query({});
    expect([missing.status, missing.reason]).toEqual(['-22', 'params.strTime: is required']);
    const wide = await query({ strTime: '2026-01-01T00:00:00+08:00', endTime: '2026-03-01T00:00:00+08:00' });
    expect([wide.status, wide.reason]).toEqual(['-22', 'params.endTime: the window must be at most 31 days']);
    const badKey = await query({ sourceTaskId: original, feedbackValue: '12' });
    expect(badKey.status).toBe('-22');
    expect(badKey.reason).toContain('params.feedbackValue');
  });

  it('exports the filtered records as CSV (BOM, CRLF), and bad params as the JSON envelope', async () => {
    const response = await service.ring.server.inject({
      method: 'POST',
      url: '/v3/voice/recordGroupExport',
      headers: headers(account),
      payload: JSON.stringify({ params: { sourceTaskId: original, callStatusList: [50] } }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="records-${original}.csv"`);
    expect(response.body.startsWith('\uFEFFvoiceId,taskId,')).toBe(true);
    const rows = Papa.parse<string[]>(response.body.slice(1), { newline: '\r\n', skipEmptyLines: true }).data;
    const answered = all.filter((r) => r.callStatus === 50);
    expect(rows.slice(1).map((row) => Number(row[0]))).toEqual(answered.map((r) => r.voiceId));

    const bad = await service.ring.server.inject({
      method: 'POST',
      url: '/v3/voice/recordGroupExport',
      headers: headers(account),
      payload: JSON.stringify({ params: {} }),
    });
    expect(bad.headers['content-type']).toContain('application/json');
    expect(bad.json()).toMatchObject({ status: '-22', reason: 'params.strTime: is required' });
    const theirs = await service.ring.server.inject({
      method: 'POST',
      url: '/v3/voice/recordGroupExport',
      headers: headers(other),
      payload: JSON.stringify({ params: { sourceTaskId: original } }),
    });
    expect(theirs.json()).toMatchObject({ status: '-24' });
  });

  it('sums a campaign: rounds, totals and people reached equal the records; not found for another account', async () => {
    const summary = await call<{
      rounds: Array<{ round: number; taskId: number; callNum: number; success: number; fail: number }>;
      totals: { numbers: number; calls: number; answered: number; failed: number; reached: number };
      timeline: {
        bucketSeconds: number;
        buckets: Array<{ calls: number; byStatus: Record<string, number> }>;
      };
    }>('/voice/group/call/campaign', { taskId: all.find((r) => r.outRecallCount === 1)!.taskId });
    expect(summary.status).toBe('0');
    expect(summary.data.rounds.map((r) => r.round)).toEqual([0, 1]);
    expect(summary.data.rounds[0]!.taskId).toBe(original);
    expect(summary.data.totals.numbers).toBe(200);
    expect(summary.data.totals.calls).toBe(all.length);
    expect(summary.data.totals.answered).toBe(all.filter((r) => r.callStatus === 50).length);
    expect(summary.data.totals.failed).toBe(all.filter((r) => r.callStatus !== 50).length);
    expect(summary.data.totals.reached).toBe(
      new Set(all.filter((r) => r.callStatus === 50).map((r) => r.callee)).size,
    );
    const bucketed = summary.data.timeline.buckets.reduce((n, b) => n + b.calls, 0);
    expect(bucketed).toBe(all.length);
    expect(summary.data.timeline.buckets.length).toBeLessThanOrEqual(120);
    expect((await otherCall('/voice/group/call/campaign', { taskId: original })).status).toBe('-24');
  });

  it('orders the task list by name when asked ([ours] params.sort)', async () => {
    await taskSender(call, account.appId)({ taskName: 'Aardvark', numberList: ['4479900000001'] });
    const page = await call<{ records: Array<{ taskName: string }> }>('/voice/group/call/query', {
      current: 1,
      size: 100,
      params: { sort: 'name' },
    });
    const names = page.data.records.map((r) => r.taskName);
    expect(names).toEqual([...names].sort());
    expect(
      (await call('/voice/group/call/query', { current: 1, size: 10, params: { sort: 'drop table' } }))
        .status,
    ).toBe('-22');
  });

  it('plays a voice file and a TTS preview as WAV; another account cannot fetch the file', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const mp3 = readFileSync(join(import.meta.dirname, '..', 'media', 'fixtures', 'tone-300hz-2s.mp3'));
    const uploaded = await call<string>('/voice/fileUpload', {
      fileName: 'tone-api.mp3',
      file: mp3.toString('base64'),
    });
    expect(uploaded.status).toBe('0');
    const mine = await service.ring.server.inject({
      method: 'GET',
      url: `/voice/fileAudio/${uploaded.data}`,
      headers: headers(account),
    });
    expect(mine.headers['content-type']).toBe('audio/wav');
    expect(mine.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(mine.rawPayload.length).toBeGreaterThan(8000 * 2 * 1.5);
    const theirs = await service.ring.server.inject({
      method: 'GET',
      url: `/voice/fileAudio/${uploaded.data}`,
      headers: headers(other),
    });
    expect(theirs.json()).toMatchObject({ status: '-24' });

    const preview = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/tts/preview',
      headers: headers(account),
      payload: JSON.stringify({ text: 'Hello ${text1}', lan: 'en', text1: 'Ann' }),
    });
    expect(preview.headers['content-type']).toBe('audio/wav');
    expect(preview.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
    const badLan = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/tts/preview',
      headers: headers(account),
      payload: JSON.stringify({ text: 'Hello', lan: 'xx' }),
    });
    expect(badLan.json()).toMatchObject({ status: '-22' });
  });

  it("streams live progress only to a signed request, with the account's own tasks only", async () => {
    await service.ring.server.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(service.ring.server.server.address() as AddressInfo).port}`;
    const unsigned = await fetch(`${base}/v3/voice/events`);
    expect(await unsigned.json()).toMatchObject({ status: '-1' });

    const stream = await fetch(`${base}/v3/voice/events`, { headers: headers(account) });
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const mine = await taskSender(
      call,
      account.appId,
    )({ taskName: 'Live one', numberList: numbers(5, '4473300') });
    const theirs = await taskSender(
      otherCall,
      other.appId,
    )({ taskName: 'Live other', numberList: numbers(5, '4473300') });
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events: Array<{ taskId: number; status: number; callNum: number }> = [];
    while (!events.some((e) => e.taskId === mine && e.status === 2)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const blocks = text.split('\n\n');
      text = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (block.startsWith('event: task') && data) events.push(JSON.parse(data.slice(6)));
      }
    }
    await reader.cancel();
    const last = events.filter((e) => e.taskId === mine).at(-1)!;
    expect(last).toMatchObject({ status: 2, callNum: 5 });
    expect(events.some((e) => e.taskId === theirs)).toBe(false);
  });
});
