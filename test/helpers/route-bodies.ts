/**
 * Per-route request bodies for the generated tests (isolation, bad input): for each route of the route
 * table, a body the account owning `ids` could validly send. A new route must be added here, or the
 * generated tests fail and say so.
 */
import { expect } from 'vitest';
import { bindRegistration } from '../../src/db/queries/agents.ts';
import { sineWav } from '../media/measure.ts';
import { apiClient, newAccount, type TestService, waitFor } from './harness.ts';

export type Kind = 'app' | 'task' | 'finishedTask' | 'flow' | 'node' | 'file' | 'group' | 'record' | 'sip';
export type Ids = Record<Kind, number | string>;

const smallWav = () => sineWav({ freq: 300, seconds: 0.5, rate: 8000, channels: 1 }).toString('base64');

let unique = 0;
const name = (prefix: string) => `${prefix}-${++unique}-${Date.now() % 100000}`;
const future = '2030-01-01 00:00:00';
const ttsNode = () => ({ source: 3, text: 'node message', lan: 'en' });
const flow = () => ({ recallInterval: 5, recallNum: 1, recallType: 0, nodeList: [ttsNode()] });

/** A request body B could validly send, built around B's own ids. Keyed by method and bare path. */
export const baseBodies: Record<string, (ids: Ids) => Record<string, unknown> | undefined> = {
  'POST /voice/fileUpload': () => ({ fileName: name('b-up').slice(0, 20) + '.wav', file: smallWav() }),
  'POST /voice/fileQuery': () => ({ current: 1, size: 100 }),
  'POST /voice/fileDel': (b) => ({ fileIdList: [b.file] }),
  'POST /voice/group/call/send': (b) => ({
    appId: b.app,
    taskName: name('b-send'),
    source: 3,
    text: 'hello',
    lan: 'en',
    numberList: ['8613800000009'],
    sendTime: future,
    recallFlow: flow(),
  }),
  'POST /voice/group/call/update': (b) => ({ keyId: b.task, taskName: name('b-update') }),
  'POST /voice/group/call/resend': (b) => ({
    keyId: b.finishedTask,
    appId: b.app,
    taskName: name('b-resend'),
    resendType: 0,
    sendTime: future,
    recallFlow: flow(),
  }),
  'POST /voice/group/call/query': (b) => ({ current: 1, size: 100, params: { idxAppId: b.app } }),
  'POST /voice/group/call/provisional': (b) => ({ jobIdList: [b.task] }),
  'POST /voice/group/call/resume': (b) => ({ jobIdList: [b.task] }),
  'POST /voice/group/call/cancel': (b) => ({ taskIdList: [b.finishedTask] }),
  'GET /voice/group/call/detail/:id': () => undefined,
  'GET /voice/recordGroup/:voiceId': () => undefined,
  'POST /voice/recordGroupQuery': (b) => ({
    current: 1,
    size: 100,
    params: {
      strTime: '2026-01-01T00:00:00Z',
      endTime: '2026-01-31T00:00:00Z',
      taskId: b.finishedTask,
    },
  }),
  'POST /voice/recallFlow/queryPage': () => ({ current: 1, size: 100 }),
  'POST /voice/recallFlow/queryDetail': (b) => ({ keyId: b.flow }),
  'POST /voice/recallFlow/update': (b) => ({
    keyId: b.flow,
    recallInterval: 5,
    recallNum: 1,
    recallType: 0,
    nodeList: [ttsNode()],
  }),
  'POST /voice/recallFlow/cancel': (b) => ({ type: 1, id: b.flow }),
  'GET /voice/tts/languages': () => undefined,
  'POST /voice/tts/languages': () => undefined,
  'POST /voice/sipAdd': (b) => ({ appId: b.app, groupName: 'b-group', phoneName: 'b-phone', quantity: 1 }),
  'POST /voice/sipQuery': (b) => ({ current: 1, size: 100, params: { appId: b.app, account: b.sip } }),
  'POST /voice/sipReset': (b) => ({ account: b.sip }),
  'POST /cc/seatGroup/addGroup': (b) => ({ appId: b.app, groupName: name('b-grp').slice(0, 32) }),
  'POST /cc/seatGroup/query': (b) => ({ appId: b.app }),
  // [ours] console endpoints
  'GET /voice/account/info': () => undefined,
  'POST /voice/account/info': () => ({}),
  'POST /voice/account/callingRules': () => ({ maxAttemptsPerNumber: null }),
  'POST /voice/dnc/add': () => ({ numbers: ['8613800000777'] }),
  'POST /voice/dnc/del': () => ({ numbers: ['8613800000777'] }),
  'POST /voice/dnc/query': () => ({ current: 1, size: 10, params: { number: '86138' } }),
  'POST /voice/group/call/campaign': (b) => ({ taskId: b.finishedTask }),
  'POST /voice/recordGroupExport': (b) => ({ params: { taskId: b.finishedTask } }),
  'GET /voice/events': () => undefined,
  'GET /voice/fileAudio/:fileId': () => undefined,
  'POST /voice/tts/preview': () => ({ text: 'hello', lan: 'en' }),
};

/** Routes whose success never ends (a live stream): their isolation is tested in console-api.test.ts. */
export const streamingRoutes: ReadonlySet<string> = new Set(['GET /voice/events']);

/** An account with one of everything: app, voice file, seat group, SIP phone, waiting task with a recall
 * flow, finished task with a call record. Its names carry `label`-secret so leaks can be searched for. */
export async function seedAccount(service: TestService, label: string) {
  const account = await newAccount(service.db);
  const call = apiClient(service, account);
  const ok = async <T>(path: string, body?: unknown) => {
    const response = await call<T>(path, body);
    expect(response.status, `${label} ${path}: ${response.reason}`).toBe('0');
    return response.data;
  };
  const wav = sineWav({ freq: 300, seconds: 1, rate: 8000, channels: 1 }).toString('base64');
  const file = Number(await ok<string>('/voice/fileUpload', { fileName: `${label}-secret.wav`, file: wav }));
  const group = await ok<number>('/cc/seatGroup/addGroup', {
    appId: account.appId,
    groupName: `${label}-secret-grp`,
  });
  const [sip] = await ok<Array<{ account: string }>>('/voice/sipAdd', {
    appId: account.appId,
    groupName: `${label}-secret-grp`,
    phoneName: `${label}-phone`,
    quantity: 1,
  });
  await bindRegistration(service.db, {
    username: sip!.account,
    contact: `sip:${sip!.account}@127.0.0.1:5060`,
    expiresAt: service.clock.now() + 86_400_000,
    now: service.clock.now(),
  });
  const task = await ok<number>('/voice/group/call/send', {
    appId: account.appId,
    taskName: `${label}-secret-waiting`,
    source: 1,
    voiceFileId: String(file),
    numberList: ['8613800000001', '8613800000002'],
    sendTime: future,
    toSeat: 1,
    toSeatType: 1,
    sipGroupId: group,
    recallFlow: { recallInterval: 5, recallNum: 2, recallType: 0 },
  });
  const finishedTask = await ok<number>('/voice/group/call/send', {
    appId: account.appId,
    taskName: `${label}-secret-done`,
    source: 3,
    text: 'hello',
    lan: 'en',
    numberList: ['8613800000003'],
  });
  const record = await waitFor(`${label} record`, async () => {
    const [row] = await service.db.query<{ id: number }>(
      "SELECT c.id FROM calls c JOIN tasks t ON t.id = c.task_id WHERE c.task_id = $1 AND c.state = 'done' AND t.status = 2",
      [finishedTask],
    );
    return row?.id;
  });
  const [flowRow] = await service.db.query<{ id: number }>('SELECT id FROM recall_flows WHERE task_id = $1', [
    task,
  ]);
  const [nodeRow] = await service.db.query<{ id: number }>(
    'SELECT id FROM recall_nodes WHERE flow_id = $1 ORDER BY round LIMIT 1',
    [flowRow!.id],
  );
  const ids: Ids = {
    app: account.appId,
    task,
    finishedTask,
    flow: flowRow!.id,
    node: nodeRow!.id,
    file,
    group,
    record,
    sip: sip!.account,
  };
  return { account, call, ids };
}
