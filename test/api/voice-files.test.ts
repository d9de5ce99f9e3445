import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiCall, apiClient, newAccount, startService, type TestService } from '../helpers/harness.ts';

const mp3 = readFileSync(join(import.meta.dirname, '..', 'media', 'fixtures', 'tone-300hz-2s.mp3')).toString(
  'base64',
);

describe('voice files (spec §3)', () => {
  let service: TestService;
  let call: ApiCall;
  let appId: number;

  beforeAll(async () => {
    service = await startService({ start: false });
    const account = await newAccount(service.db);
    appId = account.appId;
    call = apiClient(service, account);
  });
  afterAll(async () => service?.close());

  it('converts an MP3 upload once, lists it with its duration, and refuses a duplicate name (-20)', async () => {
    const uploaded = await call<string>('/voice/fileUpload', { fileName: 'tone.mp3', file: mp3 });
    expect(uploaded.status, uploaded.reason).toBe('0');
    expect(typeof uploaded.data).toBe('string');
    const list = await call<{
      total: number;
      records: Array<{ fileId: string; fileName: string; duration: number }>;
    }>('/voice/fileQuery', { current: 1, size: 10 });
    expect(list.data.records).toContainEqual(
      expect.objectContaining({ fileId: uploaded.data, fileName: 'tone.mp3' }),
    );
    const duration = list.data.records.find((r) => r.fileId === uploaded.data)!.duration;
    expect(duration).toBeGreaterThanOrEqual(1.9);
    expect(duration).toBeLessThanOrEqual(2.1);
    const [stored] = await service.db.query<{ audio: Uint8Array }>(
      'SELECT audio FROM voice_files WHERE id = $1',
      [Number(uploaded.data)],
    );
    // Stored once in telephone form: an 8 kHz WAV.
    const wav = Buffer.from(stored!.audio);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect((await call('/voice/fileUpload', { fileName: 'tone.mp3', file: mp3 })).status).toBe('-20');
  });

  it('answers -22 naming the field for corrupt or non-audio data and for a bad file name', async () => {
    const corrupt = await call('/voice/fileUpload', {
      fileName: 'bad.mp3',
      file: Buffer.from('this is not audio at all').toString('base64'),
    });
    expect(corrupt.status).toBe('-22');
    expect(corrupt.reason).toMatch(/^file/);
    const truncated = await call('/voice/fileUpload', { fileName: 'cut.mp3', file: mp3.slice(0, 400) });
    expect(truncated.status).toBe('-22');
    const name = await call('/voice/fileUpload', { fileName: 'a.mp', file: mp3 });
    expect(name.status).toBe('-22');
    expect(name.reason).toMatch(/^fileName/);
    const extension = await call('/voice/fileUpload', { fileName: 'tone.ogg', file: mp3 });
    expect(extension.status).toBe('-22');
  });

  it('refuses to delete a file used by a waiting task or a pending recall node (-41), then deletes it', async () => {
    const byTask = await call<string>('/voice/fileUpload', { fileName: 'task.mp3', file: mp3 });
    const byNode = await call<string>('/voice/fileUpload', { fileName: 'node.mp3', file: mp3 });
    const sent = await call<number>('/voice/group/call/send', {
      appId,
      taskName: 'uses files',
      source: 1,
      voiceFileId: byTask.data,
      numberList: ['8613800000001'],
      sendTime: '2030-01-01 00:00:00',
      recallFlow: {
        recallInterval: 5,
        recallNum: 1,
        recallType: 0,
        nodeList: [{ source: 1, voiceFileId: byNode.data }],
      },
    });
    expect(sent.status, sent.reason).toBe('0');
    expect((await call('/voice/fileDel', { fileIdList: [Number(byTask.data)] })).status).toBe('-41');
    expect((await call('/voice/fileDel', { fileIdList: [Number(byNode.data)] })).status).toBe('-41');
    // Cancel the task (and with it the flow that never began): both files are free.
    expect((await call('/voice/recallFlow/cancel', { type: 2, id: sent.data })).status).toBe('0');
    expect((await call('/voice/group/call/cancel', { taskIdList: [sent.data] })).status).toBe('0');
    const deleted = await call('/voice/fileDel', { fileIdList: [Number(byTask.data), Number(byNode.data)] });
    expect(deleted.status, deleted.reason).toBe('0');
    const list = await call<{ records: Array<{ fileId: string }> }>('/voice/fileQuery', {
      current: 1,
      size: 10,
    });
    expect(list.data.records.map((r) => r.fileId)).not.toContain(byTask.data);
  });
});
