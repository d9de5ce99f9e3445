/**
 * CSV export from the console: a finished 10,000-call task exported from the records page (a real download
 * in Chromium) has 10,000 rows, and every field equals the API's record (`recordGroupQuery`), read with a
 * real CSV parser. The file opens in a spreadsheet: UTF-8 BOM, RFC 4180 quoting, CRLF, and text cells that
 * would run as formulas (= + - @) prefixed with an apostrophe.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccountClient, numbers, startService, type TestService, waitFor } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { launchChromium, newPage, serveConsole, signIn } from './browser.ts';

const haveChromium = hasTool('chromium');

const columns = [
  'voiceId',
  'taskId',
  'sourceTaskId',
  'outRecallCount',
  'callee',
  'displayNum',
  'submitTime',
  'callTime',
  'ringingTime',
  'answerTime',
  'hangupTime',
  'ringDuration',
  'callDuration',
  'terminationCode',
  'terminationReason',
  'callStatus',
  'feedbackValue',
  'calledInfo',
  'smsStatus',
  'seat',
  'hangupBy',
  ...Array.from({ length: 10 }, (_, i) => `text${i + 1}`),
];

/** What a spreadsheet must show for a value: text that would be a formula gets a leading apostrophe. */
function shownAs(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text))
    return `'${text}`;
  return text;
}

const tricky = [
  '=HYPERLINK("http://x","y")',
  'Zoë, "quoted"',
  '+44 lead',
  '@user',
  '-minus',
  'two\nlines',
  '-1',
  '42',
];

describe.skipIf(!haveChromium)('console: CSV export of call records', () => {
  let service: TestService;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    service = await startService({ clockSpeed: 3000, sim: { seed: 'console-export' } });
    url = await serveConsole(service);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('exports a finished 10,000-call task: 10,000 rows whose fields equal the API records', async () => {
    const { account, call, send } = await newAccountClient(service, {
      maxConcurrency: 400,
      callsPerSecond: 5000,
    });
    const list = numbers(10_000, '4479300');
    const taskId = await send({
      taskName: 'Export me',
      // One prompt for all (per-callee TTS would render 10,000 prompts); the texts travel in calledInfo.
      text: 'Hello, this is your reminder.',
      displayNum: '4420000000',
      numberInfoList: list.map((calleeNumber, i) => ({
        calleeNumber,
        text1: tricky[i % tricky.length],
        text2: `Person ${i}`,
        ...(i % 3 === 0 ? { text10: 'ten' } : {}),
      })),
    });
    await waitFor(
      'the task to finish',
      async () => (await call<{ status: number }>(`/voice/group/call/detail/${taskId}`)).data.status === 2,
      240_000,
    );

    const records: Array<Record<string, unknown>> = [];
    let after = 0;
    for (;;) {
      const page = await call<{ records: Array<Record<string, unknown> & { voiceId: number }> }>(
        '/voice/recordGroupQuery',
        { current: 1, size: 100, params: { taskId, afterVoiceId: after } },
      );
      if (page.data.records.length === 0) break;
      records.push(...page.data.records);
      after = page.data.records.at(-1)!.voiceId;
    }
    expect(records).toHaveLength(10_000);

    const errors: string[] = [];
    const page = await newPage(browser, errors);
    await signIn(page, url, account);
    await page.goto(`${url}#/records?task=${taskId}`);
    await expect
      .poll(() => page.locator('[data-check="records.total"]').textContent(), { timeout: 30_000 })
      .toBe('10000');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      page.click('#export-csv'),
    ]);
    const bytes = readFileSync((await download.path())!);
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.slice(1, text.indexOf('\r\n'))).toBe(columns.join(','));
    expect(text.endsWith('\r\n')).toBe(true);
    const parsed = Papa.parse<string[]>(text.slice(1), { newline: '\r\n', skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    const [header, ...rows] = parsed.data;
    expect(header).toEqual(columns);
    expect(rows).toHaveLength(10_000);
    rows.forEach((row, i) => {
      const record = records[i]!;
      const info = JSON.parse(String(record.calledInfo)) as Record<string, string>;
      const expected = columns.map((column) =>
        shownAs(column.startsWith('text') ? info[column] : record[column]),
      );
      expect(row).toEqual(expected);
    });
    // The formula stays text; a number-like text such as -1 or 42 is left as it is.
    const formulaRow = rows.find((row) => row[columns.indexOf('text1')]!.includes('HYPERLINK'))!;
    expect(formulaRow[columns.indexOf('text1')]).toBe(`'${tricky[0]}`);
    expect(rows.some((row) => row[columns.indexOf('text1')] === '-1')).toBe(true);
    expect(rows.some((row) => row[columns.indexOf('text1')] === 'two\nlines')).toBe(true);
    expect(errors).toEqual([]);
  }, 400_000);
});
