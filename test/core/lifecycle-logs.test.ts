/**
 * Logs an operator can follow (issue 17): a campaign with a recall round writes one info line per
 * lifecycle event, each request one line with its request id and account id, each call a debug line,
 * and no SMS body at info.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { newAccountClient, numbers, startService, type TestService, waitFor } from '../helpers/harness.ts';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const INFO = 30;
const DEBUG = 20;

describe('lifecycle logs', () => {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  let service: TestService;
  afterAll(async () => {
    await service?.close();
  });

  it('a campaign with one recall round: created, started, finished, round due/started/finished; calls at debug', async () => {
    service = await startService({ log, sms: new LogTransport(log), sim: { seed: 'logs' } });
    const { account, send } = await newAccountClient(service, { maxConcurrency: 20, callsPerSecond: 100 });
    const smsText = 'Secret body for your account';
    const taskId = await send({
      taskName: 'logs',
      numberList: numbers(20, '4470009'),
      hangUpSms: 1,
      failedPush: 1,
      smsContent: smsText,
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1 },
    });
    const find = (msg: string, where: (line: Line) => boolean = () => true) =>
      lines.filter((line) => line.msg === msg && where(line));
    await waitFor(
      'round 1 finished',
      async () => find('round finished', (l) => l.round === 1).length > 0,
      60_000,
    );

    const info = (msg: string) => find(msg, (l) => l.level === INFO);
    expect(info('task created')).toEqual([
      expect.objectContaining({ taskId, accountId: account.accountId, callees: 20 }),
    ]);
    const roundTask = info('round started')[0]?.taskId as number;
    expect(info('round started')).toEqual([
      expect.objectContaining({ round: 1, taskId: expect.any(Number) }),
    ]);
    expect(info('task started').map((l) => l.taskId)).toEqual([taskId, roundTask]);
    expect(info('task finished').map((l) => l.taskId)).toEqual([taskId, roundTask]);
    expect(info('round due')).toEqual([expect.objectContaining({ round: 1, dueAt: expect.any(String) })]);
    expect(info('round finished').map((l) => l.round)).toEqual([0, 1]);

    const request = info('request').find((l) => l.route === '/voice/group/call/send');
    expect(request).toMatchObject({ accountId: account.accountId, status: 200, reqId: expect.any(String) });
    const started = find('call started');
    expect(started.length).toBeGreaterThanOrEqual(20);
    expect(started.every((l) => l.level === DEBUG)).toBe(true);
    expect(find('call settled').every((l) => l.level === DEBUG)).toBe(true);

    // No SMS body (nor its personalised text) at info or above.
    const sent = find('sms (log driver, not sent to a carrier)');
    expect(sent.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines.filter((l) => l.level >= INFO))).not.toContain('Secret body');
    console.info(
      `info lines: ${lines.filter((l) => l.level === INFO).length} (${[...new Set(lines.filter((l) => l.level === INFO).map((l) => l.msg))].join(', ')}); debug lines: ${lines.filter((l) => l.level === DEBUG).length}`,
    );
  }, 90_000);

  it('a cancelled task is logged', async () => {
    const { call, send } = await newAccountClient(service);
    const taskId = await send({
      taskName: 'to cancel',
      numberList: numbers(3, '4470010'),
      sendTime: '2099-01-01 00:00:00',
    });
    expect((await call('/voice/group/call/cancel', { taskIdList: [taskId] })).status).toBe('0');
    expect(lines.filter((l) => l.msg === 'task cancelled' && l.taskId === taskId)).toHaveLength(1);
  });
});

describe('lease takeover', () => {
  it('calls of a dead run are settled as interrupted: one info line with the count, and the metric', async () => {
    const lines: Line[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    const service = await startService({ log: pino({ level: 'info' }, sink) });
    try {
      const { send } = await newAccountClient(service);
      const taskId = await send({
        taskName: 'dead run',
        numberList: numbers(4, '4470011'),
        sendTime: '2099-01-01 00:00:00',
      });
      // As a run that died mid-call leaves them: dialling, leased by it, the lease long expired.
      await service.db.query(
        `UPDATE calls SET state = 'dialling', lease_owner = 'dead-node/abcd', lease_until = '2000-01-01',
           call_time = '2000-01-01'
         WHERE task_id = $1`,
        [taskId],
      );
      const line = await waitFor('lease takeover logged', async () =>
        lines.find((l) => l.msg.startsWith('lease takeover')),
      );
      expect(line).toMatchObject({ level: INFO, count: 4 });
      const metrics = await service.ring.server.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^ringcast_lease_takeovers_total 4$/m);
      expect(metrics.body).toMatch(/^ringcast_calls_settled_total\{callStatus="60"\} 4$/m);
    } finally {
      await service.close();
    }
  });
});
