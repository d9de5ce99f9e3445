/**
 * Ids stored long ago are checked again where they are used (issue 13): the engine plays a voice file
 * only to calls of the account that owns it and never once deleted, and a recall round does not start
 * with a seat group or voice file that is not its account's. The rows below are forged with SQL, as a
 * settings row written before the API checks (or by a bug) would be.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentPreparer } from '../../src/engine/content.ts';
import type { ApiCall, TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, startService, waitFor } from '../helpers/harness.ts';
import { sineWav } from '../media/measure.ts';

describe('ids checked at the point of use', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startService({ clockSpeed: 2000 });
  });
  afterAll(async () => service?.close());

  const upload = async (call: ApiCall, fileName: string) => {
    const response = await call<string>('/voice/fileUpload', {
      fileName,
      file: sineWav({ freq: 300, seconds: 1, rate: 8000, channels: 1 }).toString('base64'),
    });
    expect(response.status, response.reason).toBe('0');
    return response.data;
  };

  it("plays a voice file only to its own account's calls, and not once it is deleted", async () => {
    const a = await newAccount(service.db);
    const b = await newAccount(service.db);
    const callA = apiClient(service, a);
    const callB = apiClient(service, b);
    const fileA = await upload(callA, 'a-private.wav');
    const sendTts = async (call: ApiCall, appId: number, taskName: string) => {
      const sent = await call<number>('/voice/group/call/send', {
        appId,
        taskName,
        source: 3,
        text: 'hi',
        lan: 'en',
        numberList: ['8613811111111'],
        sendTime: '2030-01-01 00:00:00',
      });
      const [row] = await service.db.query<{ id: number }>('SELECT id FROM calls WHERE task_id = $1', [
        sent.data,
      ]);
      return row!.id;
    };
    const callOfA = await sendTts(callA, a.appId, 'a task');
    const callOfB = await sendTts(callB, b.appId, 'b task');
    const content = new ContentPreparer(service.db, service.ring.media);
    const voice = { source: 1 as const, voiceFileId: fileA };
    const played = await content.prepare(voice, null, { callId: callOfA });
    expect(played.durationMs).toBe(1000);
    // Cached audio does not bypass the check.
    await expect(content.prepare(voice, null, { callId: callOfB })).rejects.toThrow(/may not be played/);
    await expect(content.prepare(voice, null)).rejects.toThrow(/may not be played/);
    await expect(
      content.prepare({ source: 1, voiceFileId: '2147483648' }, null, { callId: callOfA }),
    ).rejects.toThrow();
    await service.db.query('UPDATE voice_files SET deleted = true WHERE id = $1', [Number(fileA)]);
    await expect(content.prepare(voice, null, { callId: callOfA })).rejects.toThrow(/may not be played/);
  });

  it("a recall round whose node names another account's seat group, or a deleted file, does not start (4, with the reason)", async () => {
    const a = await newAccount(service.db);
    const b = await newAccount(service.db);
    const callA = apiClient(service, a);
    const callB = apiClient(service, b);
    const groupA = await callA<number>('/cc/seatGroup/addGroup', {
      appId: a.appId,
      groupName: 'a-private-grp',
    });
    const fileB = await upload(callB, 'b-voice.wav');
    const startFlow = async (taskName: string) => {
      const sent = await callB<number>('/voice/group/call/send', {
        appId: b.appId,
        taskName,
        source: 3,
        text: 'hi',
        lan: 'en',
        numberList: ['8613822222222'],
        sendTime: '2030-01-01 00:00:00',
        recallFlow: { recallInterval: 1, recallNum: 1, recallType: 0 },
      });
      expect(sent.status, sent.reason).toBe('0');
      const [flow] = await service.db.query<{ id: number }>(
        'SELECT id FROM recall_flows WHERE task_id = $1',
        [sent.data],
      );
      return { taskId: sent.data, flowId: flow!.id };
    };
    const forgedGroup = await startFlow('forged group');
    await service.db.query(`UPDATE recall_nodes SET given = $2::jsonb WHERE flow_id = $1`, [
      forgedGroup.flowId,
      JSON.stringify({ toSeat: 1, toSeatType: 1, sipGroupId: groupA.data }),
    ]);
    const deletedFile = await startFlow('deleted file');
    await service.db.query(`UPDATE recall_nodes SET given = $2::jsonb WHERE flow_id = $1`, [
      deletedFile.flowId,
      JSON.stringify({ source: 1, voiceFileId: fileB }),
    ]);
    await service.db.query('UPDATE voice_files SET deleted = true WHERE id = $1', [Number(fileB)]);
    // Start both now.
    await service.db.query('UPDATE tasks SET send_time = NULL WHERE id = ANY($1::int[])', [
      [forgedGroup.taskId, deletedFile.taskId],
    ]);
    for (const [flow, reason] of [
      [forgedGroup, /seat group .* not a seat group of this account/],
      [deletedFile, /voice file .* was deleted/],
    ] as const) {
      const node = await waitFor('round refused', async () => {
        const [row] = await service.db.query<{
          status: number;
          reason: string | null;
          task_id: number | null;
        }>('SELECT status, reason, task_id FROM recall_nodes WHERE flow_id = $1 AND status = 4', [
          flow.flowId,
        ]);
        return row;
      });
      expect(node.reason).toMatch(reason);
      expect(node.task_id).toBeNull();
    }
  });
});
