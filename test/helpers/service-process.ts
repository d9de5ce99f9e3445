/**
 * The service as a real process (`node --import tsx src/cli.ts …`), for tests that kill it: its
 * environment on a fresh PGlite folder or PostgreSQL database, a signed HTTP client, and a poller.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/db/db.ts';
import { compatSign } from '../../src/domain/sign.ts';
import { testDb, usingPostgres, waitFor } from './harness.ts';

const root = join(import.meta.dirname, '..', '..');
// `node --import tsx` runs the service in this very process (the tsx CLI would fork a child that a
// SIGKILL of the parent leaves running).
const nodeArgs = ['--import', 'tsx', 'src/cli.ts'];

export interface ServiceProcessKit {
  env: Record<string, string>;
  port: number;
  work: string;
  /** Runs a CLI command to completion and returns its stdout. */
  cli(args: string[]): string;
  /** Starts `serve`; `onOutput` sees its stdout. */
  start(onOutput?: (text: string) => void): ChildProcess;
  /** Kills the running service with `signal` and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

export async function serviceProcessKit(env: Record<string, string>): Promise<ServiceProcessKit> {
  const work = mkdtempSync(join(tmpdir(), 'ringcast-proc-'));
  const port = 19_000 + Math.floor(Math.random() * 2000);
  const fullEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    LOG_LEVEL: 'error',
    ...env,
  };
  let dropDb: (() => Promise<void>) | undefined;
  if (usingPostgres) {
    const created = await testDb();
    await created.db.close();
    fullEnv.DATABASE_URL = created.url!;
    dropDb = created.drop;
  } else {
    fullEnv.DATA_DIR = join(work, 'pglite');
  }
  let child: ChildProcess | undefined;
  return {
    env: fullEnv,
    port,
    work,
    cli: (args) =>
      execFileSync(process.execPath, [...nodeArgs, ...args], { cwd: root, env: fullEnv }).toString(),
    start(onOutput) {
      child = spawn(process.execPath, [...nodeArgs, 'serve'], {
        cwd: root,
        env: fullEnv,
        stdio: ['ignore', onOutput ? 'pipe' : 'ignore', 'ignore'],
      });
      child.stdout?.on('data', (chunk: Buffer) => onOutput?.(chunk.toString()));
      return child;
    },
    async stop(signal = 'SIGKILL') {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill(signal);
      await exited;
    },
    async cleanup() {
      child?.kill('SIGKILL');
      await dropDb?.();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A client of the service over HTTP, signing like an integration; null while it is not up. */
export function httpApi(port: number, account: { apiKey: string; apiSecret: string }) {
  return async <T>(
    path: string,
    body?: unknown,
  ): Promise<{ status: string; reason: string; data: T } | null> => {
    const ts = String(Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          'content-type': 'application/json',
          'Api-Key': account.apiKey,
          Timestamp: ts,
          Sign: compatSign(account.apiKey, account.apiSecret, ts),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await response.json()) as { status: string; reason: string; data: T };
    } catch {
      return null;
    }
  };
}

/** `waitFor` at a pace for a separate process (every 100 ms, a minute unless told). */
export function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  ms = 60_000,
): Promise<T> {
  return waitFor(what, probe, ms, 100);
}

/**
 * More `serve` processes on the kit's database (PostgreSQL), on the ports after the kit's, each its own
 * NODE_ID; resolves once every process, the kit's own included, answers the account's API.
 */
export async function moreServeProcesses(
  kit: ServiceProcessKit,
  account: { apiKey: string; apiSecret: string },
  count: number,
  nodePrefix: string,
): Promise<ChildProcess[]> {
  const children = Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, [...nodeArgs, 'serve'], {
      cwd: root,
      env: { ...kit.env, PORT: String(kit.port + i + 1), NODE_ID: `${nodePrefix}-${i + 2}` },
      stdio: 'ignore',
    }),
  );
  for (let i = 0; i <= count; i++) {
    const api = httpApi(kit.port + i, account);
    await until(
      `process on ${kit.port + i} up`,
      async () => (await api('/voice/account/info'))?.status === '0',
      90_000,
    );
  }
  return children;
}

/** Until none of the tasks is open any more (status finished). */
export function tasksFinished(db: Db, taskIds: readonly number[], ms: number): Promise<true> {
  return until(
    'tasks finished',
    async () => {
      const [row] = await db.query<{ open: number }>(
        'SELECT count(*)::int AS open FROM tasks WHERE id = ANY($1::int[]) AND status <> 2',
        [taskIds],
      );
      return row?.open === 0;
    },
    ms,
  );
}

/** Lines in the simulated carrier's dial log (SIM_DIAL_LOG) so far: one per dial. */
export function dialsLogged(dialLog: string): number {
  try {
    return readFileSync(dialLog, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}
