/**
 * eSpeak NG engines: the Debian binary (fast, ~15 ms a prompt) and the npm WebAssembly build (no system
 * package needed). Both take the same arguments and produce 22.05 kHz WAV, resampled here to 8 kHz.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { decodePcmWav } from './decode.ts';
import { accentRow, type ResolvedVoice } from './languages.ts';
import { processLimiter, runProcess } from './process.ts';
import { startWorker } from './worker.ts';

export interface TtsEngine {
  /** Human-readable, for describe(). */
  readonly name: string;
  /** Which engine kind this is (for `engines` and logs). */
  readonly id: string;
  /** Part of the cache key: engine and version, so an upgraded engine never serves stale disk renders. */
  readonly cacheTag: string;
  /** Renders to 8 kHz mono Int16 PCM. */
  synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array>;
  close(): Promise<void>;
}

/** eSpeak's accepted speed range (words per minute); 175 wpm is its normal rate, our speakingRate 1. */
export const ESPEAK_MIN_WPM = 80;
export const ESPEAK_MAX_WPM = 450;
export const ESPEAK_NORMAL_WPM = 175;
const RENDER_TIMEOUT_MS = 30_000;
/** npm espeak-ng 1.0.2 embeds eSpeak NG 1.52-dev; bump with the package. */
const WASM_CACHE_TAG = 'espeak-wasm-npm1.0.2';

export function espeakWpm(speakingRate: number): number {
  return Math.min(ESPEAK_MAX_WPM, Math.max(ESPEAK_MIN_WPM, Math.round(ESPEAK_NORMAL_WPM * speakingRate)));
}

export function espeakArgs(voice: ResolvedVoice): string[] {
  // +m3 / +f3 are the variants measured as clearly male (~105 Hz) and female (~200 Hz) on every voice.
  const variant = voice.gender === 1 ? 'm3' : 'f3';
  return [
    '-v',
    `${accentRow(voice).espeak}+${variant}`,
    '-s',
    String(espeakWpm(voice.speakingRate)),
    '-b',
    '1',
  ];
}

export class SystemEspeak implements TtsEngine {
  readonly id = 'espeak-system';
  readonly name: string;
  readonly cacheTag: string;

  constructor(private readonly binary: string) {
    let version = '';
    try {
      const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
      version = /text-to-speech:\s*(\S+)/.exec(out)?.[1] ?? '';
    } catch {
      // version is cosmetic
    }
    this.name = `espeak-ng ${version} (system binary ${binary})`.replace('  ', ' ');
    this.cacheTag = `espeak-system-${version}`;
  }

  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    // Text goes through stdin so a prompt starting with '-' can never be taken for an option.
    const result = await processLimiter.run(() =>
      runProcess(this.binary, [...espeakArgs(voice), '--stdout'], {
        input: text,
        timeoutMs: RENDER_TIMEOUT_MS,
      }),
    );
    if (result.code !== 0 || result.timedOut)
      throw new Error(
        `espeak-ng failed (${result.timedOut ? 'timeout' : `exit ${result.code}`}): ${result.stderr.trim()}`,
      );
    return decodePcmWav(result.stdout, true);
  }

  async close(): Promise<void> {}
}

interface EmscriptenFs {
  writeFile(path: string, data: string | Uint8Array): void;
  readFile(path: string): Uint8Array;
  unlink(path: string): void;
}
interface EspeakModule {
  FS: EmscriptenFs;
}
interface EspeakExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  stackSave(): number;
  stackRestore(sp: number): void;
  __main_argc_argv(argc: number, argv: number): number;
}
type EspeakFactory = (options: Record<string, unknown>) => Promise<EspeakModule>;

/**
 * The npm build is an Emscripten *program* (it runs main() once and keeps C globals such as getopt's
 * state). Instantiating it per prompt costs 150-500 ms, so instead we instantiate once, snapshot linear
 * memory right after start-up, and before each render restore that snapshot and call main() again:
 * every render starts from the same pristine state (verified bit-identical to a fresh instance).
 */
export class WasmEspeak implements TtsEngine {
  readonly id = 'espeak-wasm';
  readonly cacheTag = WASM_CACHE_TAG;
  readonly name = 'espeak-ng 1.52-dev (npm WebAssembly build, in-thread)';
  private ready:
    | Promise<{ module: EspeakModule; exports: EspeakExports; snapshot: Uint8Array; sp: number }>
    | undefined;
  private errors: string[] = [];

  warm(): Promise<unknown> {
    this.ready ??= this.start();
    return this.ready;
  }

  private async start() {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('espeak-ng');
    const wasmPath = join(dirname(entry), 'espeak-ng.wasm');
    const compiled = await WebAssembly.compile(await readFile(wasmPath));
    const factory = ((await import('espeak-ng')) as { default: EspeakFactory }).default;
    let exports: EspeakExports | undefined;
    const module = await factory({
      noInitialRun: true,
      print: () => {},
      printErr: (line: string) => {
        this.errors.push(line);
      },
      // The default quit handler sets process.exitCode; a failed render must not fail the server's exit.
      quit: (_status: number, error: Error) => {
        throw error;
      },
      instantiateWasm: (
        imports: WebAssembly.Imports,
        receive: (instance: WebAssembly.Instance) => void,
      ): WebAssembly.Exports => {
        const instance = new WebAssembly.Instance(compiled, imports);
        exports = instance.exports as unknown as EspeakExports;
        receive(instance);
        return instance.exports;
      },
    });
    if (!exports) throw new Error('espeak-ng WebAssembly did not instantiate');
    // Only up to the last non-zero byte (~18 of 32 MB): the rest is restored by zero-filling.
    const memory = new Uint8Array(exports.memory.buffer);
    let end = memory.length;
    while (end > 0 && memory[end - 1] === 0) end--;
    const snapshot = memory.slice(0, end);
    return { module, exports, snapshot, sp: exports.stackSave() };
  }

  /** Renders on the calling thread: the WebAssembly call blocks it ~30 ms per prompt (see WasmEspeakPool). */
  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    await this.warm();
    const { module, exports, snapshot, sp } = await this.ready!;
    const memory = new Uint8Array(exports.memory.buffer);
    memory.set(snapshot);
    memory.fill(0, snapshot.length);
    exports.stackRestore(sp);
    this.errors = [];
    try {
      module.FS.unlink('/out.wav');
    } catch {
      // first render
    }
    module.FS.writeFile('/in.txt', text);
    const args = ['espeak-ng', ...espeakArgs(voice), '-f', '/in.txt', '-w', '/out.wav'];
    const encoder = new TextEncoder();
    const pointers = args.map((arg) => {
      const bytes = encoder.encode(`${arg}\0`);
      const ptr = exports.malloc(bytes.length);
      new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
      return ptr;
    });
    const argv = exports.malloc(4 * (args.length + 1));
    const view = new Uint32Array(exports.memory.buffer, argv, args.length + 1);
    pointers.forEach((p, i) => {
      view[i] = p;
    });
    view[args.length] = 0;
    let status: number;
    try {
      status = exports.__main_argc_argv(args.length, argv);
    } catch (error) {
      // exit(n) inside the program surfaces as a thrown ExitStatus carrying `status`.
      status =
        typeof (error as { status?: unknown }).status === 'number'
          ? (error as { status: number }).status
          : -1;
    }
    if (status !== 0)
      throw new Error(`espeak-ng (wasm) failed with status ${status}: ${this.errors.join(' ')}`);
    return decodePcmWav(Buffer.from(module.FS.readFile('/out.wav')), true);
  }

  async close(): Promise<void> {
    this.ready = undefined;
  }
}

export interface WorkerRequest {
  id: number;
  text: string;
  voice: ResolvedVoice;
}
export type WorkerReply =
  | { id: number; samples: Int16Array }
  | { id: number; error: string }
  | { ready: true }
  | { startError: string };

interface PoolWorker {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, { resolve: (samples: Int16Array) => void; reject: (error: Error) => void }>;
}

/**
 * The WebAssembly engine in worker threads, so a render never stalls the event loop that paces RTP and
 * answers the API, and several renders use several cores.
 */
export class WasmEspeakPool implements TtsEngine {
  readonly id = 'espeak-wasm';
  readonly cacheTag = WASM_CACHE_TAG;
  readonly name: string;
  private workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = 1) {
    this.name = `espeak-ng 1.52-dev (npm WebAssembly build, ${size} worker thread${size === 1 ? '' : 's'})`;
  }

  warm(): Promise<unknown> {
    while (this.workers.length < this.size) this.workers.push(this.spawn());
    return Promise.all(this.workers.map((w) => w.ready));
  }

  private spawn(): PoolWorker {
    const worker = startWorker('espeak-worker');
    worker.unref(); // referenced only while it has work, so an idle pool never keeps the process alive
    const pending: PoolWorker['pending'] = new Map();
    let readyResolve: () => void = () => {};
    let readyReject: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    ready.catch(() => {}); // reported through synthesize()
    const self: PoolWorker = { worker, ready, pending };
    const fail = (error: Error) => {
      readyReject(error);
      for (const job of pending.values()) job.reject(error);
      pending.clear();
      // A dead worker is replaced on the next render.
      this.workers = this.workers.filter((w) => w !== self);
    };
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) return readyResolve();
      if ('startError' in reply)
        return fail(new Error(`espeak-ng WebAssembly failed to start: ${reply.startError}`));
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if ('samples' in reply) job.resolve(reply.samples);
      else job.reject(new Error(reply.error));
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => fail(new Error(`espeak-ng worker exited with code ${code}`)));
    return self;
  }

  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    if (this.closed) throw new Error('media service is closed');
    await this.warm();
    // Least busy worker; ties go to the first.
    const target = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<Int16Array>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.ref();
      const request: WorkerRequest = { id, text, voice };
      target.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
