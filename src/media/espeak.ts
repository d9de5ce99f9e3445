/**
 * eSpeak NG engines: the Debian binary (fast, ~15 ms a prompt) and the npm WebAssembly build (no system
 * package needed). Both take the same arguments and produce 22.05 kHz WAV, resampled here to 8 kHz.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodePcmWav } from './decode.ts';
import { accentRow, type ResolvedVoice } from './languages.ts';
import { runProcess } from './process.ts';

export interface TtsEngine {
  /** Human-readable, for describe(). */
  readonly name: string;
  /** Part of the cache key: different engines render differently. */
  readonly id: string;
  /** Renders to 8 kHz mono Int16 PCM. */
  synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array>;
  close(): Promise<void>;
}

/** eSpeak's accepted speed range (words per minute); 175 wpm is its normal rate, our speakingRate 1. */
export const ESPEAK_MIN_WPM = 80;
export const ESPEAK_MAX_WPM = 450;
export const ESPEAK_NORMAL_WPM = 175;
const RENDER_TIMEOUT_MS = 30_000;

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

  constructor(private readonly binary: string) {
    let version = '';
    try {
      const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
      version = /text-to-speech:\s*(\S+)/.exec(out)?.[1] ?? '';
    } catch {
      // version is cosmetic
    }
    this.name = `espeak-ng ${version} (system binary ${binary})`.replace('  ', ' ');
  }

  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    // Text goes through stdin so a prompt starting with '-' can never be taken for an option.
    const result = await runProcess(this.binary, [...espeakArgs(voice), '--stdout'], {
      input: text,
      timeoutMs: RENDER_TIMEOUT_MS,
    });
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
  readonly name = 'espeak-ng 1.52-dev (npm WebAssembly build)';
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
    const snapshot = new Uint8Array(exports.memory.buffer).slice();
    return { module, exports, snapshot, sp: exports.stackSave() };
  }

  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    const { module, exports, snapshot, sp } = await this.warm().then(() => this.ready!);
    new Uint8Array(exports.memory.buffer).set(snapshot);
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
