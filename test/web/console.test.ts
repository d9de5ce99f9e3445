/**
 * The console in headless Chromium on http://console.test:PORT (plain HTTP, not localhost, so no secure
 * context): signing in and out, errors in words, accessibility (axe-core), 390 px without horizontal
 * overflow (screenshots in test-artifacts/), the form's checks saying what the API says, number lists
 * read in a worker (XLSX with per-row errors, 200,000 rows while the page keeps answering), voice files.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { newAccountClient, numbers, startService, taskSender, waitFor } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { artifactPath, launchChromium, newPage, serveConsole, signIn } from './browser.ts';

const haveChromium = hasTool('chromium');
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(): Promise<{ violations: Array<Record<string, unknown>> }> } }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: String(v.id),
      impact: (v.impact as string | null) ?? null,
      help: String(v.help),
      nodes: (v.nodes as unknown[]).length,
    }));
  });
}

describe.skipIf(!haveChromium)('web console (headless Chromium, plain HTTP, non-localhost name)', () => {
  let service: TestService;
  let browser: Browser;
  let url: string;
  let account: TestAccount;
  let call: ApiCall;
  let finishedTask: number;
  const errors: string[] = [];

  beforeAll(async () => {
    service = await startService({ clockSpeed: 3000, sim: { seed: 'console' } });
    url = await serveConsole(service);
    browser = await launchChromium();
    ({ account, call } = await newAccountClient(service));
    finishedTask = await taskSender(
      call,
      account.appId,
    )({
      taskName: 'Finished reminder',
      numberList: numbers(30, '4479400'),
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 1 },
    });
    await waitFor('the task to finish', async () => {
      const detail = await call<{ status: number }>(`/voice/group/call/detail/${finishedTask}`);
      return detail.data.status === 2;
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('signs in over plain HTTP on a non-localhost name without secure-context APIs, stays signed in on reload, signs out', async () => {
    const page = await newPage(browser, errors);
    await page.goto(url);
    expect(
      await page.evaluate(() => [window.isSecureContext, typeof crypto.subtle, typeof crypto.randomUUID]),
    ).toEqual([false, 'undefined', 'undefined']);
    await page.fill('#apiKey', account.apiKey);
    await page.fill('#apiSecret', 'wrong secret');
    await page.click('#signin button[type=submit]');
    await expect
      .poll(() => page.locator('#signin-error').textContent())
      .toBe(
        'Not signed in: the API key or secret was refused: authentication failed: unknown Api-Key or wrong signature (code -1)',
      );

    await signIn(page, url, account);
    const row = page.locator(`tr.task[data-task-id="${finishedTask}"]`);
    await row.waitFor();
    expect(await row.locator('td.status').textContent()).toBe('finished');
    await expect.poll(() => page.locator('#live-state').textContent(), { timeout: 30_000 }).toBe('live');

    await page.reload();
    await page.locator('#signout').waitFor();
    expect(await page.locator('#account-name').textContent()).toMatch(/^acct-/);
    await page.click('#signout');
    await page.locator('#signin').waitFor();
    expect(await page.locator('#apiSecret').inputValue()).toBe('');
    await page.reload();
    await page.locator('#signin').waitFor();
    expect(errors).toEqual([]);
  }, 90_000);

  it('answers a state conflict in words with the code (cancelling a finished task is refused)', async () => {
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    // The state machine offers no Cancel for a finished task; the API's answer if asked anyway, in words:
    await page.goto(`${url}#/campaign/${finishedTask}`);
    await page.locator('#rounds').waitFor();
    expect(await page.locator('tr[data-round="0"] button:has-text("Cancel")').count()).toBe(0);
    expect(await page.locator('tr[data-round="0"] button:has-text("Pause")').count()).toBe(0);
    const refused = await call('/voice/group/call/cancel', { taskIdList: [finishedTask] });
    expect(refused.status).toBe('-41');
  }, 60_000);

  it('says what a waiting task waits for, as the API reports it (allowed hours)', async () => {
    // A window (UTC+8, the account's zone) that opens 20 h of engine time from now: about 24 s of wall
    // time at this clock speed.
    const opensAt = new Date(service.clock.now() + 8 * 3600_000 + 20 * 3600_000);
    const hhmm = opensAt.toISOString().slice(11, 16);
    const closes = new Date(opensAt.getTime() + 3600_000).toISOString().slice(11, 16);
    const waiting = await taskSender(
      call,
      account.appId,
    )({
      taskName: 'Waits for its hours',
      numberList: numbers(3, '4479450'),
      allowSendTime: [{ strTime: hhmm, endTime: closes }],
    });
    const detail = async () =>
      (
        await call<{ waitReason: string | null; nextDialAt: string | null }>(
          `/voice/group/call/detail/${waiting}`,
        )
      ).data;
    await waitFor('the API to report the wait', async () => (await detail()).waitReason === 'window');
    const { nextDialAt } = await detail();
    expect(nextDialAt?.slice(11, 16)).toBe(hhmm);
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/campaign/${waiting}`);
    await expect
      .poll(() => page.locator('tr[data-round="0"] .wait').textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(` · allowed hours start (\\d\\d-\\d\\d )?${hhmm} UTC\\+8$`));
    await page.goto(`${url}#/tasks`);
    await expect
      .poll(() => page.locator(`tr.task[data-task-id="${waiting}"] .wait`).textContent(), { timeout: 20_000 })
      .toContain(`allowed hours start`);
    await call('/voice/group/call/cancel', { taskIdList: [waiting] });
    expect(errors).toEqual([]);
  }, 60_000);

  it('checks the form with the API rules and says exactly what the API says', async () => {
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/new`);
    await page.fill('#taskName', 'Form rules');
    await page.setInputFiles('#numbers-file', {
      name: 'three.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('4479500000001\n4479500000002\n4479500000003\n'),
    });
    await expect.poll(() => page.locator('#numbers-status').textContent()).toContain('3 numbers ready');
    const body = {
      appId: account.appId,
      taskName: 'Form rules',
      numberInfoList: ['4479500000001', '4479500000002', '4479500000003'].map((calleeNumber) => ({
        calleeNumber,
      })),
      source: 3,
      lan: 'en',
    };
    const problem = () => page.locator('#form-problem').textContent();

    // A cross-field rule (src/domain): TTS needs text.
    await page.click('#send');
    const api1 = await call('/voice/group/call/send', { ...body, text: '' });
    expect(api1.status).toBe('-22');
    await expect.poll(problem).toBe(`Please check the input: ${api1.reason}`);

    // A single-field rule (the route schema): speakingRate at most 4.
    await page.fill('#voice-text', 'Hello');
    await page.fill('#voice-rate', '9');
    await page.click('#send');
    const api2 = await call('/voice/group/call/send', { ...body, text: 'Hello', speakingRate: 9 });
    expect(api2.reason).toContain('speakingRate');
    await expect.poll(problem).toBe(`Please check the input: ${api2.reason}`);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('voice-rate');

    // SMS: hangUpSms=1 needs a text.
    await page.fill('#voice-rate', '1');
    await page.check('input[data-field="hangUpSms"]');
    await page.check('label:has-text("when the call failed") input');
    await page.click('#send');
    const api3 = await call('/voice/group/call/send', {
      ...body,
      text: 'Hello',
      hangUpSms: 1,
      failedPush: 1,
    });
    await expect.poll(problem).toBe(`Please check the input: ${api3.reason}`);
    expect(api3.reason).toBe('smsContent: required when hangUpSms=1');
    expect(errors).toEqual([]);
  }, 60_000);

  it('reads an XLSX list in the worker and lists bad rows with the API message for them', async () => {
    const rows = [
      [{ value: 'calleeNumber' }, { value: 'text1' }],
      [{ value: 4479600000001 }, { value: 'Ann' }],
      [{ value: '12ab' }, { value: 'Bob' }],
      [{ value: '+4479600000003' }, { value: 'Cy' }],
      [{ value: 4479600000001 }, { value: 'Ann again' }],
    ];
    const xlsx = await writeXlsxFile(rows).toBuffer();
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/new`);
    await page.setInputFiles('#numbers-file', {
      name: 'list.xlsx',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      buffer: xlsx,
    });
    await expect
      .poll(() => page.locator('#numbers-status').textContent())
      .toBe('2 numbers ready · 1 rows with errors (left out) · 1 listed twice (called once)');
    expect(await page.locator('#map-text1').inputValue()).toBe('1');
    // The API's words for the same row sent as it is (it is entry [1] of the list):
    const api = await call('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'xlsx',
      source: 3,
      text: 'hi',
      lan: 'en',
      numberInfoList: [{ calleeNumber: '4479600000001' }, { calleeNumber: '12ab' }],
    });
    expect(api.status).toBe('-22');
    expect(await page.locator('#row-errors li').allTextContents()).toEqual([`Line 3: ${api.reason}`]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('reads 200,000 rows in a Web Worker while the page keeps answering', async () => {
    const list = numbers(200_000, '44795');
    const csv = `${list.map((n, i) => `${n},Name ${i}`).join('\n')}\n`;
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/new`);
    await page.setInputFiles('#numbers-file', {
      name: 'big.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    // Each evaluate is a round trip through the page's main thread: had the list been read there, none
    // could complete while it says "Reading the list…".
    let answeredWhileReading = 0;
    for (;;) {
      const status = await page.locator('#numbers-status').textContent();
      if (status !== 'Reading the list…') break;
      answeredWhileReading++;
    }
    expect(answeredWhileReading).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('#numbers-status').textContent(), { timeout: 60_000 })
      .toContain('200000 numbers ready');
    expect(await page.locator('#preview tbody tr').count()).toBe(10);
    expect(errors).toEqual([]);
  }, 120_000);

  it('uploads, plays and deletes voice files; a file in use is refused with the reason', async () => {
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/voice`);
    const mp3 = readFileSync(join(import.meta.dirname, '..', 'media', 'fixtures', 'tone-300hz-2s.mp3'));
    await page.setInputFiles('#upload-file', { name: 'tone.mp3', mimeType: 'audio/mpeg', buffer: mp3 });
    await page.fill('#upload-name', 'console-tone.mp3');
    await page.click('button:has-text("Upload")');
    const row = page.locator('#voice-files tr', { hasText: 'console-tone.mp3' });
    await row.waitFor();
    const fileId = await row.getAttribute('data-file-id');
    await row.locator('button:has-text("Play")').click();
    const seconds = await page.locator('#file-audio').evaluate(
      (audio: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          if (audio.readyState >= 1) resolve(audio.duration);
          audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
          audio.addEventListener('error', () => reject(new Error('the file does not play')));
        }),
    );
    expect(seconds).toBeGreaterThan(1.5);

    // A waiting task (tomorrow) uses the file: deleting it is refused, in words, with the code.
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'Uses the tone',
      source: 1,
      voiceFileId: fileId,
      sendTime: '2030-01-01 10:00:00',
      numberList: ['4479700000001'],
    });
    expect(sent.status).toBe('0');
    await row.locator('button:has-text("Delete")').click();
    await expect
      .poll(() => page.locator('p.error[role=alert]').first().textContent())
      .toBe(
        `Not possible in the current state: fileIdList: file ${fileId} is used by a pending or running task or recall node (code -41)`,
      );
    await call('/voice/group/call/cancel', { taskIdList: [sent.data] });
    await row.locator('button:has-text("Delete")').click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe('Deleted console-tone.mp3.');
    await expect.poll(() => row.count()).toBe(0);
    expect(errors).toEqual([]);
  }, 60_000);

  it('adds SIP accounts and shows their state', async () => {
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/agents`);
    await page.fill('#phones-group', 'console-sales');
    await page.fill('#phones-name', 'desk');
    await page.fill('#phones-quantity', '2');
    await page.click('button:has-text("Add SIP accounts")');
    await expect.poll(() => page.locator('#sip-accounts tbody tr').count()).toBe(2);
    expect(await page.locator('#sip-accounts td.state').allTextContents()).toEqual(['offline', 'offline']);
    expect(await page.locator('#seat-groups tbody tr').allTextContents()).toEqual([
      expect.stringContaining('console-sales'),
    ]);
    expect(errors).toEqual([]);
  }, 60_000);

  const pages = [
    ['campaigns', '#/tasks', '#tasks tr.task'],
    ['campaign', () => `#/campaign/${finishedTask}`, '#rounds'],
    ['new-campaign', '#/new', '#new-campaign'],
    ['records', () => `#/records?source=${finishedTask}`, '#records tbody tr'],
    ['voice-files', '#/voice', '#voice-files'],
    ['agents', '#/agents', '#sip-accounts'],
  ] as const;

  it('has no serious or critical accessibility violations (axe-core) on any page', async () => {
    const page = await newPage(browser, errors);
    await page.goto(url);
    await page.locator('#signin').waitFor();
    const found: Record<string, AxeViolation[]> = {};
    const serious = (list: AxeViolation[]) =>
      list.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    found['sign-in'] = serious(await axeViolations(page));
    await signIn(page, url, account);
    for (const [name, hash, ready] of pages) {
      await page.goto(`${url}${typeof hash === 'function' ? hash() : hash}`);
      await page.locator(ready).first().waitFor();
      if (name === 'new-campaign') {
        await page.setInputFiles('#numbers-file', {
          name: 'a.csv',
          mimeType: 'text/csv',
          buffer: Buffer.from('phone,text1\n4479800000001,Ann\nbad,Bob\n'),
        });
        await page.locator('#row-errors').waitFor();
        await page.check('#recall');
      }
      found[name] = serious(await axeViolations(page));
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((name) => [name, []])));
    expect(errors).toEqual([]);
  }, 120_000);

  it('fits 390 px wide on every page: no horizontal overflow (screenshots in test-artifacts/)', async () => {
    const page = await newPage(browser, errors, { width: 390, height: 844 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.goto(url);
    await page.locator('#signin').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: artifactPath('console-390-sign-in.png'), fullPage: true });
    await signIn(page, url, account);
    for (const [name, hash, ready] of pages) {
      await page.goto(`${url}${typeof hash === 'function' ? hash() : hash}`);
      await page.locator(ready).first().waitFor();
      expect(`${name}: ${Math.max(0, await overflow())}`).toBe(`${name}: 0`);
      await page.screenshot({ path: artifactPath(`console-390-${name}.png`), fullPage: true });
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
