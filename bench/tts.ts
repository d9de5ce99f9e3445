/**
 * `npm run bench:tts`: renders per second and real-time factor of the system eSpeak NG binary versus the
 * npm WebAssembly build, measured in the same run (the machine is shared; only the ratio is portable).
 * Each render is a distinct prompt through the engine itself, so no cache is involved; the time includes
 * resampling to 8 kHz, i.e. what a cache miss costs a call.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SystemEspeak, type TtsEngine, WasmEspeak, WasmEspeakPool } from '../src/media/espeak.ts';
import { resolveVoice } from '../src/media/languages.ts';
import { findExecutable } from '../src/media/process.ts';

const RENDERS = Number(process.env.BENCH_RENDERS ?? 40);
const PROMPT =
  'Hello, this is a reminder from your clinic: your appointment is tomorrow at nine. Press one to confirm.';
const voices = [
  resolveVoice({ lan: 'EN' }),
  resolveVoice({ lan: 'EN', accent: 44, gender: 1 }),
  resolveVoice({ lan: 'ES', speakingRate: 1.2 }),
  resolveVoice({ lan: 'HI', gender: 1 }),
];

interface Result {
  engine: string;
  startupMs: number;
  rendersPerSecond: number;
  realTimeFactor: number;
  meanMs: number;
  p95Ms: number;
  /** Worst event-loop stall while rendering: what live calls (RTP pacing) on the main thread would feel. */
  maxLoopDelayMs: number;
}

async function measure(
  label: string,
  engine: TtsEngine,
  warm: () => Promise<unknown>,
  concurrency = 1,
): Promise<Result> {
  const t0 = performance.now();
  await warm();
  const startupMs = performance.now() - t0;
  const times: number[] = [];
  let audioMs = 0;
  let next = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const start = performance.now();
  // `concurrency` callers pull prompts from one counter, as concurrent cache misses would.
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < RENDERS) {
        const i = next++;
        const t = performance.now();
        const samples = await engine.synthesize(`${PROMPT} Reference ${i + 1}.`, voices[i % voices.length]!);
        times.push(performance.now() - t);
        audioMs += samples.length / 8;
        // A server does other work between renders; yielding lets the delay monitor see each stall.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  const elapsed = performance.now() - start;
  loop.disable();
  times.sort((a, b) => a - b);
  await engine.close();
  return {
    engine: label,
    startupMs,
    rendersPerSecond: (RENDERS * 1000) / elapsed,
    realTimeFactor: elapsed / audioMs,
    meanMs: elapsed / RENDERS,
    p95Ms: times[Math.floor(times.length * 0.95)] ?? 0,
    maxLoopDelayMs: loop.max / 1e6,
  };
}

const results: Result[] = [];
const binary = findExecutable('espeak-ng');
let system: Result | undefined;
let systemParallel: Result | undefined;
if (binary) {
  const engine = new SystemEspeak(binary);
  system = await measure('system espeak-ng 1.51, 1 at a time', engine, () =>
    engine.synthesize('warm up', voices[0]!),
  );
  systemParallel = await measure('system espeak-ng 1.51, 2 concurrent', engine, async () => {}, 2);
  results.push(system, systemParallel);
} else console.log('espeak-ng is not installed: system engine skipped');
const inThread = new WasmEspeak();
const wasm = await measure('wasm 1.52-dev in-thread, 1 at a time', inThread, () => inThread.warm());
const pool1 = new WasmEspeakPool(1);
const wasmWorker = await measure('wasm 1.52-dev, 1 worker, 1 at a time', pool1, () => pool1.warm());
const pool2 = new WasmEspeakPool(2);
const wasmParallel = await measure('wasm 1.52-dev, 2 workers, 2 concurrent', pool2, () => pool2.warm(), 2);
results.push(wasm, wasmWorker, wasmParallel);

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(10);
console.log(`\n${RENDERS} renders of a ~20-word prompt, 4 voices, 8 kHz output\n`);
console.log(
  `${'engine'.padEnd(42)}${'startup ms'.padStart(12)}${'renders/s'.padStart(10)}${'ms/render'.padStart(10)}${'p95 ms'.padStart(10)}${'RTF'.padStart(10)}${'max loop stall ms'.padStart(19)}`,
);
for (const r of results)
  console.log(
    `${r.engine.padEnd(42)}${fmt(r.startupMs).padStart(12)}${fmt(r.rendersPerSecond)}${fmt(r.meanMs)}${fmt(r.p95Ms)}${fmt(r.realTimeFactor, 4)}${fmt(r.maxLoopDelayMs).padStart(19)}`,
  );
const ratio = (a: Result, b: Result) =>
  `${(a.rendersPerSecond / b.rendersPerSecond).toFixed(2)}× renders/s (RTF ${a.realTimeFactor.toFixed(4)} vs ${b.realTimeFactor.toFixed(4)})`;
if (system && systemParallel) {
  console.log(`\nratio system / WebAssembly, 1 at a time (worker): ${ratio(system, wasmWorker)}`);
  console.log(`ratio system / WebAssembly, 2 concurrent:          ${ratio(systemParallel, wasmParallel)}`);
}
