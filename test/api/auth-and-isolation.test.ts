import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatSign, hmacSign } from '../../src/domain/sign.ts';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, newAccountClient, startService } from '../helpers/harness.ts';

describe('authentication (spec §1)', () => {
  let service: TestService;
  let account: TestAccount;

  beforeAll(async () => {
    service = await startService({ start: false });
    account = await newAccount(service.db);
  });
  afterAll(async () => service?.close());

  const raw = (
    headers: Record<string, string>,
    url = '/voice/fileQuery',
    payload = '{"current":1,"size":10}',
  ) =>
    service.ring.server.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });

  it('computes the worked example of the spec', () => {
    expect(compatSign('bDqJFiq9', '7bz1lzh9', '1630468800')).toBe('05d7a50893e22a5c4bb3216ae3396c7c');
  });

  it('accepts a correct Sign in any letter case, on bare and /v3 paths', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const sign = compatSign(account.apiKey, account.apiSecret, ts).toUpperCase();
    for (const url of ['/voice/fileQuery', '/v3/voice/fileQuery']) {
      const response = await raw({ 'Api-Key': account.apiKey, Timestamp: ts, Sign: sign }, url);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ status: '0', code: '0', reason: 'success', msg: 'success' });
    }
  });

  it('refuses an unknown key or a bad Sign with -1', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const unknown = await raw({ 'Api-Key': 'nobody', Timestamp: ts, Sign: 'x' });
    expect(unknown.json()).toMatchObject({ status: '-1', code: '-1' });
    const bad = await raw({
      'Api-Key': account.apiKey,
      Timestamp: ts,
      Sign: compatSign(account.apiKey, 'wrong', ts),
    });
    expect(bad.statusCode).toBe(200);
    expect(bad.json()).toMatchObject({ status: '-1' });
  });

  it('refuses a Timestamp more than 300 s away from the server clock with -16', async () => {
    for (const offset of [-301, 301]) {
      const ts = String(Math.floor(Date.now() / 1000) + offset);
      const response = await raw({
        'Api-Key': account.apiKey,
        Timestamp: ts,
        Sign: compatSign(account.apiKey, account.apiSecret, ts),
      });
      expect(response.json()).toMatchObject({ status: '-16' });
    }
  });

  it("refuses a caller outside the account's IP allow-list with -2", async () => {
    const { call } = await newAccountClient(service, { ipAllowList: ['10.1.2.3'] });
    expect(
      (await call('/voice/fileQuery', { current: 1, size: 10 }, { remoteAddress: '10.9.9.9' })).status,
    ).toBe('-2');
    expect(
      (await call('/voice/fileQuery', { current: 1, size: 10 }, { remoteAddress: '10.1.2.3' })).status,
    ).toBe('0');
  });

  it('offers an HMAC-SHA256 scheme whose nonce cannot be replayed, and can require it per account', async () => {
    const strict = await newAccount(service.db, { requireHmac: true });
    const ts = String(Math.floor(Date.now() / 1000));
    const body = '{"current":1,"size":10}';
    const nonce = 'n0nce-abcdef';
    const signature = hmacSign(strict.apiSecret, {
      timestamp: ts,
      nonce,
      method: 'POST',
      path: '/voice/fileQuery',
      body,
    });
    const headers = { 'Api-Key': strict.apiKey, Timestamp: ts, Nonce: nonce, Signature: signature };
    expect((await raw(headers, '/voice/fileQuery', body)).json()).toMatchObject({ status: '0' });
    expect((await raw(headers, '/voice/fileQuery', body)).json()).toMatchObject({
      status: '-1',
      reason: expect.stringContaining('Nonce'),
    });
    const tampered = await raw({ ...headers, Nonce: 'other-nonce-1' }, '/voice/fileQuery', body);
    expect(tampered.json()).toMatchObject({ status: '-1' });
    const md5 = await raw({
      'Api-Key': strict.apiKey,
      Timestamp: ts,
      Sign: compatSign(strict.apiKey, strict.apiSecret, ts),
    });
    expect(md5.json()).toMatchObject({ status: '-1', reason: expect.stringContaining('HMAC') });
  });
});

describe('isolation between accounts', () => {
  let service: TestService;
  let a: TestAccount;
  let b: TestAccount;
  let callA: ApiCall;
  let callB: ApiCall;

  beforeAll(async () => {
    service = await startService({ clockSpeed: 2000 });
    a = await newAccount(service.db);
    b = await newAccount(service.db);
    callA = apiClient(service, a);
    callB = apiClient(service, b);
  });
  afterAll(async () => service?.close());

  it("gives account B -24 for account A's task, flow, file and record ids, and changes nothing", async () => {
    const wav = Buffer.alloc(44 + 16000);
    wav.write('RIFF', 0);
    wav.writeUInt32LE(36 + 16000, 4);
    wav.write('WAVEfmt ', 8);
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(8000, 24);
    wav.writeUInt32LE(16000, 28);
    wav.writeUInt16LE(2, 32);
    wav.writeUInt16LE(16, 34);
    wav.write('data', 36);
    wav.writeUInt32LE(16000, 40);
    const upload = await callA<string>('/voice/fileUpload', {
      fileName: 'hello.wav',
      file: wav.toString('base64'),
    });
    expect(upload.status).toBe('0');
    const fileId = upload.data;
    const sent = await callA<number>('/voice/group/call/send', {
      appId: a.appId,
      taskName: 'private',
      source: 1,
      voiceFileId: fileId,
      numberList: ['8613800000001'],
      sendTime: '2030-01-01 00:00:00',
      recallFlow: { recallInterval: 5, recallNum: 1, recallType: 0 },
    });
    expect(sent.status).toBe('0');
    const taskId = sent.data;
    const [flow] = await service.db.query<{ id: number }>('SELECT id FROM recall_flows WHERE task_id = $1', [
      taskId,
    ]);
    const [node] = await service.db.query<{ id: number }>('SELECT id FROM recall_nodes WHERE flow_id = $1', [
      flow!.id,
    ]);

    expect((await callB(`/voice/group/call/detail/${taskId}`)).status).toBe('-24');
    expect((await callB('/voice/group/call/provisional', { jobIdList: [taskId] })).status).toBe('-24');
    expect((await callB('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('-24');
    expect((await callB('/voice/group/call/update', { keyId: taskId, taskName: 'stolen' })).status).toBe(
      '-24',
    );
    expect(
      (
        await callB('/voice/group/call/resend', {
          keyId: taskId,
          appId: b.appId,
          taskName: 'x2',
          resendType: 0,
        })
      ).status,
    ).toBe('-24');
    expect((await callB('/voice/recallFlow/queryDetail', { keyId: flow!.id })).status).toBe('-24');
    expect((await callB('/voice/recallFlow/cancel', { type: 1, id: flow!.id })).status).toBe('-24');
    expect((await callB('/voice/recallFlow/cancel', { type: 2, id: taskId })).status).toBe('-24');
    expect((await callB('/voice/recallFlow/cancel', { type: 3, id: node!.id })).status).toBe('-24');
    expect(
      (
        await callB('/voice/recallFlow/update', {
          keyId: flow!.id,
          recallInterval: 1,
          recallNum: 1,
          recallType: 0,
        })
      ).status,
    ).toBe('-24');
    expect((await callB('/voice/fileDel', { fileIdList: [Number(fileId)] })).status).toBe('-24');
    // Using A's file or A's app from B is refused too.
    const borrowFile = await callB('/voice/group/call/send', {
      appId: b.appId,
      taskName: 'borrow',
      source: 1,
      voiceFileId: fileId,
      numberList: ['8613800000002'],
    });
    expect(borrowFile.status).toBe('-21');
    const borrowApp = await callB('/voice/group/call/send', {
      appId: a.appId,
      taskName: 'borrow-app',
      source: 3,
      text: 'hi',
      lan: 'en',
      numberList: ['8613800000002'],
    });
    expect(borrowApp.status).toBe('-24');
    // B's lists do not show A's data.
    const bTasks = await callB<{ total: number }>('/voice/group/call/query', { current: 1, size: 10 });
    expect(bTasks.data.total).toBe(0);
    const bFiles = await callB<{ total: number }>('/voice/fileQuery', { current: 1, size: 10 });
    expect(bFiles.data.total).toBe(0);
    const bFlows = await callB<{ total: number }>('/voice/recallFlow/queryPage', { current: 1, size: 10 });
    expect(bFlows.data.total).toBe(0);
    // And A's task is untouched.
    const detail = await callA<{ taskName: string; status: number }>(`/voice/group/call/detail/${taskId}`);
    expect(detail.data).toMatchObject({ taskName: 'private', status: 0 });
  });

  it("gives -24 for another account's call record", async () => {
    const sent = await callA<number>('/voice/group/call/send', {
      appId: a.appId,
      taskName: 'record-owner',
      source: 3,
      text: 'hi',
      lan: 'en',
      numberList: ['8613800000003'],
    });
    const voiceId = await (async () => {
      for (;;) {
        const [row] = await service.db.query<{ id: number }>(
          "SELECT id FROM calls WHERE task_id = $1 AND state = 'done'",
          [sent.data],
        );
        if (row) return row.id;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    expect((await callA(`/voice/recordGroup/${voiceId}`)).status).toBe('0');
    expect((await callB(`/voice/recordGroup/${voiceId}`)).status).toBe('-24');
  });
});
