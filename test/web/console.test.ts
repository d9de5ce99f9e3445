/**
 * The console in headless Chromium (Debian `chromium`, driven by playwright-core): signing in with an
 * API key shows the account's tasks, their progress reaches 100 %, and a task's recall rounds appear.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, newAccount, numbers, startService, type TestService } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';

const haveChromium = hasTool('chromium');

describe.skipIf(!haveChromium)('web console (headless Chromium)', () => {
  let service: TestService;
  let browser: Browser;
  let base: string;
  const profile = mkdtempSync(join(tmpdir(), 'ringcast-chromium-'));

  beforeAll(async () => {
    service = await startService({ clockSpeed: 2000 });
    await service.ring.server.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(service.ring.server.server.address() as AddressInfo).port}`;
    // playwright-core gives the browser a fresh temporary profile of its own.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('shows the tasks of the signed-in account with their progress and recall rounds', async () => {
    const account = await newAccount(service.db);
    const other = await newAccount(service.db);
    const call = apiClient(service, account);
    await apiClient(service, other)('/voice/group/call/send', {
      appId: other.appId,
      taskName: 'someone else',
      source: 3,
      text: 'hi',
      lan: 'en',
      numberList: ['8613800000001'],
    });
    const sent = await call<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'Console reminder',
      source: 3,
      text: 'Hello',
      lan: 'en',
      numberList: numbers(20, '4479000'),
      recallFlow: { recallInterval: 1, recallNum: 1, recallType: 0 },
    });
    expect(sent.status).toBe('0');

    const page = await browser.newPage();
    await page.goto(`${base}/console`);
    await page.fill('#apiKey', account.apiKey);
    await page.fill('#apiSecret', account.apiSecret);
    await page.click('#login button');
    const row = page.locator(`tr.task[data-task-id="${sent.data}"]`);
    await row.waitFor({ timeout: 20_000 });
    await expect
      .poll(async () => row.locator('td.status').textContent(), { timeout: 30_000 })
      .toBe('finished');
    expect(await row.locator('.bar').getAttribute('title')).toBe('100%');
    // Another account's task is not shown.
    expect(await page.locator('tr.task', { hasText: 'someone else' }).count()).toBe(0);

    await row.click();
    await expect
      .poll(async () => page.locator('#flow-title').textContent(), { timeout: 30_000 })
      .toContain('completed');
    expect(await page.locator('#rounds tr').count()).toBe(1);
    expect(await page.locator('#rounds td.status').first().textContent()).toBe('completed');
    const shot = join(tmpdir(), 'ringcast-console.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(await page.locator('#error').textContent()).toBe('');
  }, 90_000);
});
