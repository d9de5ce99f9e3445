import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { newAccountClient, signedHeaders, startService } from '../helpers/harness.ts';

const postEndpoints = [
  '/voice/fileUpload',
  '/voice/fileQuery',
  '/voice/fileDel',
  '/voice/group/call/send',
  '/voice/group/call/update',
  '/voice/group/call/resend',
  '/voice/group/call/query',
  '/voice/group/call/provisional',
  '/voice/group/call/resume',
  '/voice/group/call/cancel',
  '/voice/recordGroupQuery',
  '/voice/recallFlow/queryPage',
  '/voice/recallFlow/queryDetail',
  '/voice/recallFlow/update',
  '/voice/recallFlow/cancel',
  '/voice/tts/languages',
];
const getEndpoints = ['/voice/group/call/detail/', '/voice/recordGroup/'];
const knownCodes = new Set(['0', '-1', '-2', '-10', '-16', '-20', '-21', '-22', '-23', '-24', '-34', '-41']);

describe('request validation', () => {
  let service: TestService;
  let account: TestAccount;
  let call: ApiCall;
  const base = () => ({
    appId: account.appId,
    taskName: 'valid task',
    source: 3,
    text: 'Hello ${text1}',
    lan: 'en',
    numberInfoList: [{ calleeNumber: '8613800000001', text1: 'Li' }],
  });

  beforeAll(async () => {
    service = await startService({ start: false });
    ({ account, call } = await newAccountClient(service));
  });
  afterAll(async () => service?.close());

  const cases: Array<[string, (b: Record<string, unknown>) => Record<string, unknown>, string, string]> = [
    ['taskName too short', (b) => ({ ...b, taskName: 'x' }), '-22', 'taskName'],
    ['taskName missing', ({ taskName: _, ...b }) => b, '-22', 'taskName'],
    [
      'callee with letters',
      (b) => ({ ...b, numberInfoList: [{ calleeNumber: '86abc' }] }),
      '-22',
      'numberInfoList[0].calleeNumber',
    ],
    [
      'callee too short',
      (b) => ({ ...b, numberList: ['12345'], numberInfoList: undefined }),
      '-22',
      'numberList[0]',
    ],
    ['no numbers', (b) => ({ ...b, numberInfoList: [] }), '-22', 'numberInfoList'],
    ['displayNum with letters', (b) => ({ ...b, displayNum: '12ab' }), '-22', 'displayNum'],
    ['source 4', (b) => ({ ...b, source: 4 }), '-22', 'source'],
    ['TTS without text', ({ text: _, ...b }) => b, '-22', 'text'],
    ['text over 1000', (b) => ({ ...b, text: 'a'.repeat(1001) }), '-22', 'text'],
    ['unknown language', (b) => ({ ...b, lan: 'xx' }), '-22', 'lan'],
    ['speakingRate 5', (b) => ({ ...b, speakingRate: 5 }), '-22', 'speakingRate'],
    ['ssmlGender 3', (b) => ({ ...b, ssmlGender: 3 }), '-22', 'ssmlGender'],
    ['loopCount 10', (b) => ({ ...b, loopCount: 10 }), '-22', 'loopCount'],
    ['maxCalls 1000', (b) => ({ ...b, maxCalls: 1000 }), '-22', 'maxCalls'],
    ['maxRingingTime 19', (b) => ({ ...b, maxRingingTime: 19 }), '-22', 'maxRingingTime'],
    [
      'four windows',
      (b) => ({ ...b, allowSendTime: Array(4).fill({ strTime: '09:00', endTime: '10:00' }) }),
      '-22',
      'allowSendTime',
    ],
    [
      'bad window time',
      (b) => ({ ...b, allowSendTime: [{ strTime: '25:00', endTime: '10:00' }] }),
      '-22',
      'allowSendTime[0].strTime',
    ],
    [
      'empty window',
      (b) => ({ ...b, allowSendTime: [{ strTime: '09:00', endTime: '09:00' }] }),
      '-22',
      'allowSendTime[0]',
    ],
    ['bad sendTime', (b) => ({ ...b, sendTime: '2026/01/01' }), '-22', 'sendTime'],
    ['SMS without content', (b) => ({ ...b, hangUpSms: 1, failedPush: 1 }), '-22', 'smsContent'],
    ['SMS with no push', (b) => ({ ...b, hangUpSms: 1, smsContent: 'hi' }), '-22', 'hangUpSms'],
    ['senderId over 32', (b) => ({ ...b, senderId: 's'.repeat(33) }), '-22', 'senderId'],
    ['feedbackValue 10', (b) => ({ ...b, feedbackValue: '10' }), '-22', 'feedbackValue'],
    ['successPushTime 0', (b) => ({ ...b, successPushTime: 0 }), '-22', 'successPushTime'],
    [
      'SMS uses text2 that a callee lacks',
      (b) => ({ ...b, hangUpSms: 1, failedPush: 1, smsContent: 'Hi ${text2}' }),
      '-22',
      'numberInfoList[0].text2',
    ],
    ['toSeat without group', (b) => ({ ...b, toSeat: 1, toSeatType: 1 }), '-22', 'sipGroupId'],
    [
      'toSeat with a foreign group',
      (b) => ({ ...b, toSeat: 1, toSeatType: 1, sipGroupId: 999 }),
      '-21',
      'sipGroupId',
    ],
    ['toSeatKey missing', (b) => ({ ...b, toSeat: 1, sipGroupId: 1, toSeatType: 2 }), '-22', 'toSeatKey'],
    ['calloutRate 101', (b) => ({ ...b, calloutRate: 101 }), '-22', 'calloutRate'],
    [
      'recallNum 11',
      (b) => ({ ...b, recallFlow: { recallInterval: 5, recallNum: 11, recallType: 0 } }),
      '-22',
      'recallFlow.recallNum',
    ],
    [
      'recallInterval 0',
      (b) => ({ ...b, recallFlow: { recallInterval: 0, recallNum: 1, recallType: 0 } }),
      '-22',
      'recallFlow.recallInterval',
    ],
    [
      'more nodes than rounds',
      (b) => ({ ...b, recallFlow: { recallInterval: 5, recallNum: 1, recallType: 0, nodeList: [{}, {}] } }),
      '-22',
      'recallFlow.nodeList',
    ],
    [
      'node with a bad source',
      (b) => ({
        ...b,
        recallFlow: { recallInterval: 5, recallNum: 1, recallType: 0, nodeList: [{ source: 1 }] },
      }),
      '-22',
      'recallFlow.nodeList[0].voiceFileId',
    ],
    ['source 1 without file', (b) => ({ ...b, source: 1 }), '-22', 'voiceFileId'],
    [
      'source 1 with a missing file',
      (b) => ({ ...b, source: 1, voiceFileId: '424242' }),
      '-21',
      'voiceFileId',
    ],
    ['source 2 without baseFile', (b) => ({ ...b, source: 2, uploadName: 'hello.wav' }), '-22', 'baseFile'],
    [
      'source 2 with garbage audio',
      (b) => ({ ...b, source: 2, uploadName: 'hello.wav', baseFile: 'bm90IGF1ZGlv' }),
      '-22',
      'file',
    ],
  ];

  for (const [name, mutate, code, field] of cases) {
    it(`answers ${code} naming ${field} when ${name}`, async () => {
      const response = await call('/voice/group/call/send', mutate(base()));
      expect(response.status, JSON.stringify(response)).toBe(code);
      expect(response.code).toBe(code);
      expect(response.reason.startsWith(field) || response.reason.includes(field), response.reason).toBe(
        true,
      );
    });
  }

  it('answers -23 for more than 200,000 numbers', async () => {
    const list = Array.from({ length: 200_001 }, (_, i) => `86${String(i).padStart(10, '0')}`);
    const response = await call('/voice/group/call/send', {
      ...base(),
      numberInfoList: undefined,
      numberList: list,
    });
    expect(response.status).toBe('-23');
  });

  it('stores 200,000 callees with text1..text10 in one request', async () => {
    const list = Array.from({ length: 200_000 }, (_, i) => {
      const entry: Record<string, string> = { calleeNumber: `86${String(i).padStart(10, '0')}` };
      for (let t = 1; t <= 10; t++) entry[`text${t}`] = `t${t}-${i}`;
      return entry;
    });
    const sent = await call<number>('/voice/group/call/send', {
      ...base(),
      taskName: 'two hundred thousand',
      sendTime: '2030-01-01 00:00:00',
      numberInfoList: list,
    });
    expect(sent.status, sent.reason).toBe('0');
    const detail = await call<{ numCnt: number }>(`/voice/group/call/detail/${sent.data}`);
    expect(detail.data.numCnt).toBe(200_000);
    const [last] = await service.db.query<{ callee: string; text10: string }>(
      'SELECT callee, text10 FROM calls WHERE task_id = $1 AND seq = 199999',
      [sent.data],
    );
    expect(last).toEqual({ callee: '860000199999', text10: 't10-199999' });
  }, 120_000);

  it('answers -20 for a duplicate task name and stores the first task only', async () => {
    expect((await call('/voice/group/call/send', { ...base(), taskName: 'twice' })).status).toBe('0');
    const again = await call('/voice/group/call/send', { ...base(), taskName: 'twice' });
    expect(again.status).toBe('-20');
    const [row] = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks WHERE name = 'twice'",
    );
    expect(row!.n).toBe(1);
  });

  it('keeps one attempt per number when a list repeats a number', async () => {
    const sent = await call<number>('/voice/group/call/send', {
      ...base(),
      taskName: 'dupes',
      numberList: ['8613800000009', '+8613800000009', '8613800000010'],
      numberInfoList: undefined,
    });
    const detail = await call<{ numCnt: number }>(`/voice/group/call/detail/${sent.data}`);
    expect(detail.data.numCnt).toBe(2);
  });

  it('answers malformed JSON and unknown paths with an envelope, never a 5xx', async () => {
    const headers = signedHeaders(account);
    const broken = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/group/call/send',
      headers,
      payload: '{"a":',
    });
    expect(broken.statusCode).toBe(200);
    expect(broken.json()).toMatchObject({ status: '-22' });
    const unknown = await service.ring.server.inject({
      method: 'POST',
      url: '/voice/nothing',
      headers,
      payload: '{}',
    });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toMatchObject({ status: '-24' });
  });

  it('property: any body to any endpoint gets HTTP 200 and an envelope with a known code, never -18', async () => {
    const headers = signedHeaders(account);
    const bodyArb = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          appId: fc.oneof(fc.integer(), fc.string(), fc.constant(account.appId)),
          taskName: fc.string(),
          keyId: fc.oneof(fc.integer(), fc.string()),
          current: fc.oneof(fc.integer(), fc.string()),
          size: fc.oneof(fc.integer(), fc.string()),
          source: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.string()),
          numberList: fc.array(fc.oneof(fc.string(), fc.integer())),
          numberInfoList: fc.array(fc.dictionary(fc.string(), fc.jsonValue())),
          params: fc.dictionary(fc.string(), fc.jsonValue()),
          recallFlow: fc.jsonValue(),
          jobIdList: fc.array(fc.oneof(fc.integer(), fc.string())),
          type: fc.integer(),
          id: fc.integer(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...postEndpoints), bodyArb, fc.boolean(), async (url, body, v3) => {
        const response = await service.ring.server.inject({
          method: 'POST',
          url: v3 ? `/v3${url}` : url,
          headers,
          payload: JSON.stringify(body),
        });
        expect(response.statusCode).toBe(200);
        const envelope = response.json() as { status: string; code: string; reason: string };
        expect(knownCodes.has(envelope.status), `${url} ${JSON.stringify(body)} → ${response.body}`).toBe(
          true,
        );
        expect(envelope.code).toBe(envelope.status);
      }),
      { numRuns: 400 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...getEndpoints), fc.string(), async (url, id) => {
        const response = await service.ring.server.inject({
          method: 'GET',
          url: url + encodeURIComponent(id),
          headers,
        });
        expect(response.statusCode).toBe(200);
        const envelope = response.json() as { status: string };
        expect(knownCodes.has(envelope.status), response.body).toBe(true);
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
