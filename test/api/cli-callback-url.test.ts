/** The CLI refuses callback URLs that could never be called safely (issue 13), before touching the database. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

function accountCreate(url: string, env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringcast-cli-'));
  try {
    return spawnSync(
      process.execPath,
      ['--import', 'tsx', cli, 'account', 'create', '--name', 'x', '--callback-url', url],
      {
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', CALLBACK_ALLOW_PRIVATE: '0', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('ringcast account create --callback-url', () => {
  it.each([
    ['file:///etc/passwd', /http or https/],
    ['not a url', /not a URL/],
    ['http://127.0.0.1:9000/hook', /loopback.*CALLBACK_ALLOW_PRIVATE/],
    ['http://169.254.169.254/latest', /linkLocal/],
  ])(
    'refuses %s',
    (url, message) => {
      const result = accountCreate(url);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    },
    60_000,
  );
});
