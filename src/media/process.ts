import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';

/** Finds an executable on PATH without spawning a shell (cheap enough to call at start-up). */
export function findExecutable(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a program with a hard timeout (SIGKILL: decoders fed hostile input may hang) and a cap on
 * captured output, so a bad upload can cost at most `timeoutMs` and `maxStdout` bytes.
 */
export function runProcess(
  file: string,
  args: string[],
  options: { input?: Buffer | string; timeoutMs: number; maxStdout?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let timedOut = false;
    const maxStdout = options.maxStdout ?? 256 * 1024 * 1024;
    let settled = false;
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks), stderr, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      // Settle now: a grandchild holding the pipes open must not extend the deadline.
      finish(null);
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxStdout) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 8192) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => finish(code));
    // The child may exit before reading all input (e.g. on a decode error); that is reported via `code`.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Bounds concurrent child processes: a campaign start can ask for hundreds of distinct renders at once. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Twice the cores: child processes spend part of their life starting up and waiting on pipes. */
export const processLimiter = new Limiter(Math.max(2, availableParallelism() * 2));
