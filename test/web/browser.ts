/**
 * Headless Debian Chromium for the console tests (flags from the platform notes). Every test reaches the
 * service as http://console.test:PORT, a plain-HTTP, non-localhost name (mapped to 127.0.0.1), where the
 * browser gives no secure context: what an operator on a LAN gets.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { TestAccount, TestService } from '../helpers/harness.ts';

export const consoleHost = 'console.test';
export const artifacts = join(import.meta.dirname, '..', '..', 'test-artifacts');

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${consoleHost} 127.0.0.1`,
    ],
  });
}

/** Listens on a free loopback port; returns the console's URL on the non-localhost name. */
export async function serveConsole(service: TestService): Promise<string> {
  await service.ring.server.listen({ host: '127.0.0.1', port: 0 });
  const port = (service.ring.server.server.address() as AddressInfo).port;
  return `http://${consoleHost}:${port}/console`;
}

/** A page that fails the test on any uncaught page error. */
export async function newPage(browser: Browser, errors: string[], viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  return page;
}

export async function signIn(page: Page, url: string, account: TestAccount): Promise<void> {
  await page.goto(url);
  await page.fill('#apiKey', account.apiKey);
  await page.fill('#apiSecret', account.apiSecret);
  await page.click('#signin button[type=submit]');
  await page.locator('#signout').waitFor({ timeout: 30_000 });
}

export function artifactPath(name: string): string {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, name);
}
