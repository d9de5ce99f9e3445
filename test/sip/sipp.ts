/** Runs SIPp as a peer for tests and the benchmark: one process per scenario, each with its own ports. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const PCAP_DIR = '/usr/share/sip-tester';

export interface SippOptions {
  /** A file in test/sip/scenarios (without .xml), or a built-in via `builtin`. */
  scenario?: string;
  builtin?: string;
  sipPort: number;
  /** SIPp binds this, +1, +2, +3 for media. */
  mediaPort: number;
  /** SIPp's UDP control socket (default 8888 clashes between instances). */
  controlPort: number;
  transport?: 'udp' | 'tcp';
  /** Calls before SIPp exits (-m). */
  calls?: number;
  extra?: string[];
  /** Remote host:port (UAC mode). */
  remote?: string;
  /** Global run limit (-timeout), seconds; default 30. */
  timeoutS?: number;
  /**
   * Keep SIPp's working directory (its -trace_counts file and other traces land there) after it exits;
   * the caller then removes `dir` itself.
   */
  keepDir?: boolean;
  /** Files written into SIPp's working directory before it starts (e.g. a pcap the scenario plays). */
  files?: Record<string, Buffer>;
}

export interface SippRun {
  process: ChildProcess;
  dir: string;
  done: Promise<{ code: number | null; output: string }>;
  stop(): void;
}

export function runSipp(o: SippOptions): SippRun {
  // SIPp resolves `pcap/<file>` against its working directory, so each run gets one with that link.
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  symlinkSync(PCAP_DIR, join(dir, 'pcap'));
  for (const [name, content] of Object.entries(o.files ?? {})) writeFileSync(join(dir, name), content);
  const args = [
    ...(o.builtin ? ['-sn', o.builtin] : ['-sf', join(SCENARIOS, `${o.scenario}.xml`)]),
    '-i',
    '127.0.0.1',
    '-p',
    String(o.sipPort),
    '-mp',
    String(o.mediaPort),
    '-cp',
    String(o.controlPort),
    '-m',
    String(o.calls ?? 1),
    '-t',
    o.transport === 'tcp' ? 't1' : 'u1',
    '-nostdin',
    '-timeout',
    `${o.timeoutS ?? 30}s`,
    '-trace_err',
    ...(o.extra ?? []),
    ...(o.remote ? [o.remote] : []),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('exit', (code) => resolve({ code, output }));
    child.on('error', (err) => resolve({ code: -1, output: String(err) }));
  });
  return {
    process: child,
    dir,
    done: o.keepDir ? done : done.finally(() => rmSync(dir, { recursive: true, force: true })),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** Waits until SIPp has bound its SIP port, so the first INVITE is not lost to a refused connection. */
export async function waitForPort(port: number, transport: 'udp' | 'tcp', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isBound(port, transport)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port}/${transport} not bound within ${timeoutMs} ms`);
}

/** Reads the kernel's socket table instead of probing, since a probe bind could steal the port from SIPp. */
function isBound(port: number, transport: 'udp' | 'tcp'): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let table = '';
  try {
    table = readFileSync(`/proc/net/${transport}`, 'latin1');
  } catch {
    return Promise.resolve(false);
  }
  return Promise.resolve(
    table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      // tcp: state 0A = LISTEN; udp sockets are always state 07.
      return cols[1]?.endsWith(hex) === true && (transport === 'udp' || cols[3] === '0A');
    }),
  );
}
