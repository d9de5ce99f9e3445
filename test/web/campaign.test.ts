/**
 * The console runs a campaign end to end in headless Chromium, over plain HTTP on a non-localhost name:
 * - from an empty account, in the browser only: a 1,000-row CSV, TTS (listened to), a 2-round failed-only
 *   recall flow, sent, the rounds complete on a sped-up clock, and every number on screen equals the API
 *   (`detail`, `recallFlow/queryDetail`, `recordGroupQuery`);
 * - pause, resume and cancel clicked in the console change what the engine dials, counted at the
 *   simulated carrier; a cancelled campaign dials no one afterwards, recall rounds included (spec §6
 *   "Stop means stop").
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { CountingSim } from '../helpers/counting-sim.ts';
import { newAccountClient, numbers, startService, type TestService, waitFor } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { artifactPath, launchChromium, newPage, serveConsole, signIn } from './browser.ts';

const haveChromium = hasTool('chromium');

const taskWords: Record<number, string> = {
  0: 'waiting',
  1: 'calling',
  2: 'finished',
  3: 'submission failed',
  4: 'cancelled',
  5: 'paused',
  6: 'submitting',
};
const flowWords: Record<number, string> = {
  0: 'pending',
  1: 'in progress',
  2: 'completed',
  3: 'cancelled',
  4: 'exception',
};

interface Detail {
  taskId: number;
  status: number;
  numCnt: number;
  callNum: number;
  success: number;
  fail: number;
  successRate: number;
}
interface FlowDetail {
  keyId: number;
  status: number;
  finishNum: number;
  recallNum: number;
  nodeList: Array<{ round: number; taskId: number | null; nodeStatus: number; dueTime: string | null }>;
}
interface RecordPage {
  total: number;
  records: Array<{ voiceId: number; callee: string; callStatus: number }>;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);

/** Every [data-check] number on the page, by what it shows. */
async function numbersOnScreen(page: Page): Promise<Map<string, string>> {
  const pairs = await page.$$eval('[data-check]', (elements) =>
    elements.map((element) => [(element as HTMLElement).dataset.check ?? '', element.textContent ?? '']),
  );
  return new Map(pairs as Array<[string, string]>);
}

describe.skipIf(!haveChromium)('console: a whole campaign from the browser', () => {
  let service: TestService;
  let browser: Browser;
  let url: string;
  const errors: string[] = [];

  beforeAll(async () => {
    service = await startService({ clockSpeed: 3000, sim: { seed: 'console-campaign' } });
    url = await serveConsole(service);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('uploads 1,000 numbers, sets TTS and a 2-round failed-only flow, sends, and shows numbers equal to the API', async () => {
    const { account, call } = await newAccountClient(service);
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);

    await page.click('a[href="#/new"]');
    await page.fill('#taskName', 'Browser campaign');
    const list = numbers(1000, '4479100');
    const csv = `phone,name\n${list.map((number, i) => `${number},Person ${i}`).join('\n')}\n`;
    await page.setInputFiles('#numbers-file', {
      name: 'list.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await expect
      .poll(() => page.locator('#numbers-status').textContent(), { timeout: 30_000 })
      .toContain('1000 numbers ready');
    expect(await page.locator('#map-callee').inputValue()).toBe('0');
    await page.selectOption('#map-text1', '1');
    await expect
      .poll(() => page.locator('#numbers-status').textContent(), { timeout: 30_000 })
      .toContain('1000 numbers ready');
    expect(await page.locator('#preview tbody tr').count()).toBe(10);
    expect(await page.locator('#preview tbody tr').first().textContent()).toBe(`${list[0]}Person 0`);

    // Listen renders the prompt as the first callee hears it (${text1} = 'Person 0').
    await page.fill('#voice-text', 'Hello ${text1}, this is your reminder.');
    await page.click('#voice-listen');
    const seconds = await page.locator('#voice-audio').evaluate(
      (audio: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          if (audio.readyState >= 1) resolve(audio.duration);
          audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
          audio.addEventListener('error', () => reject(new Error('the prompt does not play')));
        }),
    );
    expect(seconds).toBeGreaterThan(0.5);
    // Sent with one prompt for everyone: per-callee TTS renders once per callee, which the engine does at
    // about 20 a second; the names still travel in text1 (calledInfo).
    await page.fill('#voice-text', 'Hello, this is your reminder.');

    await page.check('#recall');
    await page.fill('#recallInterval', '1');
    await page.fill('#recallNum', '2');
    await page.selectOption('#recallType', '1');
    await page.click('#send');
    await page.waitForURL(/#\/campaign\/\d+$/, { timeout: 30_000 });
    const taskId = Number(/campaign\/(\d+)/.exec(page.url())![1]);

    const flowOnApi = async () => {
      const found = await call<{ records: Array<{ taskId: number; status: number; finishNum: number }> }>(
        '/voice/recallFlow/queryPage',
        { current: 1, size: 10, params: { taskName: String(taskId) } },
      );
      return JSON.stringify(found.data.records.find((flow) => flow.taskId === taskId));
    };
    try {
      await expect
        .poll(async () => (await numbersOnScreen(page)).get('flow.status'), {
          timeout: 180_000,
          interval: 250,
        })
        .toBe('completed');
    } catch (error) {
      // Say whether the flow did not complete or the page did not show it.
      throw new Error(
        `${error}; the API says ${await flowOnApi()}; the page says ${await page.textContent('main')}`,
      );
    }
    // The last refresh after the flow completed: every task of the campaign has ended by then.
    await expect
      .poll(async () => (await numbersOnScreen(page)).get('round.2.status'), { timeout: 30_000 })
      .toBe('finished');

    const flows = await call<{ records: Array<{ keyId: number; taskId: number }> }>(
      '/voice/recallFlow/queryPage',
      {
        current: 1,
        size: 10,
        params: { taskName: String(taskId) },
      },
    );
    const keyId = flows.data.records.find((flow) => flow.taskId === taskId)!.keyId;
    const flow = (await call<FlowDetail>('/voice/recallFlow/queryDetail', { keyId })).data;
    expect(flow.status).toBe(2);
    const taskIds = [taskId, ...flow.nodeList.map((node) => node.taskId!)];
    const details: Detail[] = [];
    for (const id of taskIds) details.push((await call<Detail>(`/voice/group/call/detail/${id}`)).data);
    const records: RecordPage['records'] = [];
    let after = 0;
    let total = -1;
    for (;;) {
      const page100 = await call<RecordPage>('/voice/recordGroupQuery', {
        current: 1,
        size: 100,
        params: { sourceTaskId: taskId, afterVoiceId: after },
      });
      total = page100.data.total;
      if (page100.data.records.length === 0) break;
      records.push(...page100.data.records);
      after = page100.data.records.at(-1)!.voiceId;
    }
    expect(records).toHaveLength(total);
    const sum = (pick: (d: Detail) => number) => details.reduce((n, d) => n + pick(d), 0);
    expect(total).toBe(sum((d) => d.callNum));
    // failed only: each round calls exactly the previous round's failed numbers
    expect(details[1]!.numCnt).toBe(details[0]!.fail);
    expect(details[2]!.numCnt).toBe(details[1]!.fail);
    const reached = new Set(records.filter((r) => r.callStatus === 50).map((r) => r.callee)).size;

    const expected = new Map<string, string>([
      ['flow.status', flowWords[flow.status]!],
      ['flow.finishNum', String(flow.finishNum)],
      ['flow.recallNum', String(flow.recallNum)],
      ['totals.numbers', String(details[0]!.numCnt)],
      ['totals.calls', String(sum((d) => d.callNum))],
      ['totals.answered', String(sum((d) => d.success))],
      ['totals.failed', String(sum((d) => d.fail))],
      ['totals.reached', String(reached)],
      ['totals.reachedRate', String(percent(reached, details[0]!.numCnt))],
    ]);
    details.forEach((detail, round) => {
      expected.set(`round.${round}.taskId`, String(detail.taskId));
      expected.set(`round.${round}.status`, taskWords[detail.status]!);
      expected.set(`round.${round}.numCnt`, String(detail.numCnt));
      expected.set(`round.${round}.callNum`, String(detail.callNum));
      expected.set(`round.${round}.success`, String(detail.success));
      expected.set(`round.${round}.fail`, String(detail.fail));
      expected.set(`round.${round}.answerRate`, String(detail.successRate));
    });
    for (const node of flow.nodeList) {
      expected.set(`node.${node.round}.status`, flowWords[node.nodeStatus]!);
      expected.set(`node.${node.round}.taskId`, String(node.taskId));
      expected.set(`node.${node.round}.dueTime`, String(node.dueTime));
    }
    const shown = await numbersOnScreen(page);
    expect([...shown.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, value] of expected) expect(`${key}=${shown.get(key)}`).toBe(`${key}=${value}`);
    expect(sum((d) => d.numCnt)).toBe(1000 + details[0]!.fail + details[1]!.fail);
    await page.screenshot({ path: artifactPath('campaign-finished.png'), fullPage: true });

    // The records view of the campaign: its total and its first two pages are the API's.
    await page.click('a[href^="#/records?source="]');
    await expect
      .poll(() => page.locator('[data-check="records.total"]').textContent(), { timeout: 30_000 })
      .toBe(String(total));
    const shownIds = () =>
      page.$$eval('#records tbody tr', (rows) =>
        rows.map((row) => Number((row as HTMLElement).dataset.voiceId)),
      );
    expect(await shownIds()).toEqual(records.slice(0, 50).map((r) => r.voiceId));
    await page.click('#records-next');
    await expect.poll(shownIds, { timeout: 30_000 }).toEqual(records.slice(50, 100).map((r) => r.voiceId));
    expect(errors).toEqual([]);
  }, 240_000);
});

describe.skipIf(!haveChromium)('console: pause, resume and cancel change what the engine dials', () => {
  let service: TestService;
  let carrier: CountingSim;
  let browser: Browser;
  let url: string;
  const ticks = { dialer: 0, recall: 0 };
  const errors: string[] = [];

  beforeAll(async () => {
    const speed = 50;
    const start = Date.parse('2026-11-25T02:00:00Z');
    carrier = new CountingSim(
      new SimDriver(new ScaledClock(speed, Date.now(), start), { seed: 'console-control' }),
    );
    service = await startService({ clockSpeed: speed, clockStart: start, driver: carrier });
    // Count engine ticks, so "nothing more was dialled" is checked after real engine work, not a sleep.
    const { dialer, recall } = service.ring.engine;
    const dialerTick = dialer.tick.bind(dialer);
    dialer.tick = async () => {
      await dialerTick();
      ticks.dialer++;
    };
    const recallTick = recall.tick.bind(recall);
    recall.tick = async () => {
      await recallTick();
      ticks.recall++;
    };
    url = await serveConsole(service);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  const afterTicks = async (dialerTicks: number, recallTicks: number) => {
    const target = { dialer: ticks.dialer + dialerTicks, recall: ticks.recall + recallTicks };
    await waitFor(
      'engine ticks',
      async () => ticks.dialer >= target.dialer && ticks.recall >= target.recall,
      180_000,
    );
  };
  const inFlight = async (taskIds: number[]) => {
    const [row] = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM calls WHERE task_id = ANY($1::int[]) AND state = 'dialling'",
      [taskIds],
    );
    return row!.n;
  };

  it('dials nothing while paused, dials again after resume, and no one after cancel (rounds included)', async () => {
    const { account, call } = await newAccountClient(service, { maxConcurrency: 2, callsPerSecond: 1 });
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'Control me',
      source: 3,
      text: 'Hello',
      lan: 'en',
      numberList: numbers(400, '4479200'),
      recallFlow: { recallInterval: 1, recallNum: 2, recallType: 1 },
    });
    expect(sent.status).toBe('0');
    const taskId = sent.data;
    const status = async () => (await call<Detail>(`/voice/group/call/detail/${taskId}`)).data.status;
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/campaign/${taskId}`);
    const shownStatus = () => page.locator('[data-check="round.0.status"]').textContent();
    await waitFor('the first calls', async () => carrier.dialled.length >= 3);

    await page.click('tr[data-round="0"] button:has-text("Pause")');
    await expect.poll(shownStatus, { timeout: 30_000 }).toBe('paused');
    expect(await status()).toBe(5);
    await waitFor('calls in flight to end', async () => (await inFlight([taskId])) === 0);
    const whilePaused = carrier.dialled.length;
    await afterTicks(30, 3);
    expect(carrier.dialled.length).toBe(whilePaused);

    await page.click('tr[data-round="0"] button:has-text("Resume")');
    await waitFor('dialling again', async () => carrier.dialled.length > whilePaused);
    await expect.poll(shownStatus, { timeout: 30_000 }).toBe('calling');

    await page.click('tr[data-round="0"] button:has-text("Cancel")');
    await expect.poll(shownStatus, { timeout: 30_000 }).toBe('cancelled');
    expect(await status()).toBe(4);
    await waitFor('calls in flight to end', async () => (await inFlight([taskId])) === 0);
    const afterCancel = carrier.dialled.length;
    expect(afterCancel).toBeLessThan(400);
    // Past the moment round 1 would have been due (1 min after the task ended) and round 2 after it,
    // with the recall scheduler and the dialer having run: nobody else was dialled.
    const cancelledAt = service.clock.now();
    await waitFor(
      'round 1 and 2 due times to pass',
      async () => service.clock.now() > cancelledAt + 3 * 60_000,
      60_000,
    );
    await afterTicks(30, 5);
    // Which tasks any later dials belonged to (the original, or a recall round's task) says what broke.
    const late = carrier.dialled.slice(afterCancel).map(Number);
    const lateTasks = await service.db.query<{ task_id: number; round: number; n: number }>(
      `SELECT c.task_id, t.round, count(*)::int AS n FROM calls c JOIN tasks t ON t.id = c.task_id
       WHERE c.id = ANY($1::int[]) GROUP BY 1, 2 ORDER BY 1`,
      [late],
    );
    expect(lateTasks).toEqual([]);
    const rounds = await service.db.query<{ id: number }>('SELECT id FROM tasks WHERE source_task_id = $1', [
      taskId,
    ]);
    expect(rounds.map((row) => row.id)).toEqual([]);
    const flows = await call<{ records: Array<{ keyId: number; taskId: number; status: number }> }>(
      '/voice/recallFlow/queryPage',
      { current: 1, size: 10, params: { taskName: String(taskId) } },
    );
    expect(flows.data.records.find((flow) => flow.taskId === taskId)?.status).toBe(3);
    await expect
      .poll(() => page.locator('[data-check="flow.status"]').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    expect(errors).toEqual([]);
  }, 240_000);
});
