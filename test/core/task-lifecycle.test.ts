import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallStatus } from '../../src/domain/outcome.ts';
import { defaultSimOptions, simOutcome } from '../../src/telephony/sim/sim-driver.ts';
import type { ApiCall, TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, numbers, startService, waitFor } from '../helpers/harness.ts';

const expectedStatus: Record<string, number> = {
  answer: CallStatus.answered,
  busy: CallStatus.busy,
  'no-answer': CallStatus.noAnswer,
  voicemail: CallStatus.voicemail,
  unavailable: CallStatus.notAnswered,
  invalid: CallStatus.notAnswered,
};

describe('a group-call task on the simulated carrier', () => {
  let service: TestService;
  let call: ApiCall;

  beforeAll(async () => {
    service = await startService({ clockSpeed: 2000 });
    call = apiClient(service, await newAccount(service.db));
  });
  afterAll(async () => service?.close());

  it('dials every callee exactly once, records the carrier outcome, and the counters add up', async () => {
    const account = await service.db.query<{ id: number }>('SELECT id FROM apps ORDER BY id DESC LIMIT 1');
    const list = numbers(60);
    const sent = await call<number>('/voice/group/call/send', {
      appId: account[0]!.id,
      taskName: 'lifecycle',
      source: 3,
      text: 'Hello ${text1}, your payment is due.',
      lan: 'en',
      numberInfoList: list.map((n, i) => ({ calleeNumber: n, text1: `Name${i}` })),
    });
    expect(sent.status).toBe('0');
    const taskId = sent.data;

    const detail = await waitFor('task to finish', async () => {
      const d = await call<{
        status: number;
        numCnt: number;
        callNum: number;
        success: number;
        fail: number;
      }>(`/voice/group/call/detail/${taskId}`);
      return d.data.status === 2 ? d.data : null;
    });
    expect(detail.numCnt).toBe(60);
    expect(detail.callNum).toBe(60);
    expect(detail.success + detail.fail).toBe(60);

    const records = await call<{ total: number; records: Array<Record<string, unknown>> }>(
      '/voice/recordGroupQuery',
      {
        current: 1,
        size: 100,
        params: { strTime: '2026-11-20T00:00:00+08:00', endTime: '2026-12-15T00:00:00+08:00', taskId },
      },
    );
    expect(records.status).toBe('0');
    expect(records.data.total).toBe(60);
    const byCallee = new Map(records.data.records.map((r) => [r.callee as string, r]));
    expect(byCallee.size).toBe(60);
    let answered = 0;
    for (const number of list) {
      const record = byCallee.get(number)!;
      const predicted = simOutcome({ ...defaultSimOptions, seed: 'test' }, number, 0);
      expect(record.callStatus, `${number} (${predicted.kind}) ${JSON.stringify(record)}`).toBe(
        expectedStatus[predicted.kind],
      );
      if (predicted.kind === 'answer') {
        answered++;
        expect(record.terminationCode).toBe(200);
        expect(record.answerTime).not.toBeNull();
      }
      expect(record.sourceTaskId).toBe(taskId);
      expect(record.outRecallCount).toBe(0);
    }
    expect(detail.success).toBe(answered);
  });
});
