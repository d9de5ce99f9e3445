/**
 * The media layer's entry point: picks engines (system binaries when present and allowed, npm
 * WebAssembly/JS otherwise), and puts validation and caching in front of them.
 */
import { createHash } from 'node:crypto';
import { decodeTelephoneWav, durationMs } from './audio.ts';
import { AudioCache } from './cache.ts';
import { SystemEspeak, type TtsEngine, WasmEspeak, WasmEspeakPool } from './espeak.ts';
import { FairQueue } from './fair-queue.ts';
import { GoogleTts } from './google.ts';
import { languageInfos, resolveVoice } from './languages.ts';
import { findExecutable } from './process.ts';
import {
  type ConvertedUpload,
  defaultUploadLimits,
  type LanguageInfo,
  MediaInputError,
  type MediaService,
  type PreparedAudio,
  type TtsRequest,
  type UploadLimits,
} from './types.ts';
import {
  convertWithFfmpeg,
  convertWithNpm,
  convertWithNpmInWorker,
  type UploadWorkerReply,
  type UploadWorkerRequest,
} from './upload.ts';
import { JobWorker } from './worker.ts';

/** Protects the engine; spec §2 allows 1000 chars of template, placeholders can add a few hundred. */
export const MAX_TTS_TEXT_CHARS = 5000;

export interface MediaServiceOptions {
  /** Directory for rendered TTS (8 kHz PCM16 WAV per request hash); memory-only when absent. */
  cacheDir?: string;
  /** TTS engine: local eSpeak NG (default) or Google Cloud Text-to-Speech. */
  tts?: 'espeak' | 'google';
  /** Required when tts = 'google'. */
  googleApiKey?: string;
  /** Google endpoint override (tests, proxies). */
  googleBaseUrl?: string;
  /** Use system `espeak-ng` / `ffmpeg` when on PATH (faster; ffmpeg adds M4A). Default true. */
  preferSystemBinaries?: boolean;
  /** Start the WebAssembly engine in the background at construction (default true). */
  warmUp?: boolean;
  /**
   * Worker threads for the WebAssembly engine (default 1). 0 renders on the calling thread, which blocks
   * the event loop ~30 ms per prompt: only for tools and benchmarks.
   */
  ttsThreads?: number;
  /** Run npm-path upload conversion in a worker thread (default true); false converts on the calling thread. */
  uploadWorker?: boolean;
  /** Bound of the in-memory render cache, in samples (default 32 M ≈ 64 MB). */
  memoryCacheSamples?: number;
  /** Upload size, duration, concurrency and queue bounds (defaults in types.ts). */
  uploads?: Partial<UploadLimits>;
}

export interface MediaStats {
  /** Renders that reached an engine. */
  ttsRenders: number;
  ttsMemoryHits: number;
  ttsDiskHits: number;
}

export interface RingcastMediaService extends MediaService {
  /** Resolves once the TTS engine can render (WebAssembly compiled and started); rejects if it cannot. */
  ready(): Promise<void>;
  stats(): MediaStats;
  /** Which engines were chosen, for logs and tests. */
  readonly engines: { tts: TtsEngine['id']; upload: 'ffmpeg' | 'npm' };
}

export function createMediaService(options: MediaServiceOptions = {}): RingcastMediaService {
  const preferSystem = options.preferSystemBinaries ?? true;
  const ffmpeg = preferSystem ? findExecutable('ffmpeg') : undefined;
  const engineKind = options.tts ?? 'espeak';
  let engine: TtsEngine;
  let warm: () => Promise<unknown> = async () => {};
  if (engineKind === 'google') {
    if (!options.googleApiKey) throw new Error("tts: 'google' needs googleApiKey");
    engine = new GoogleTts(
      options.googleBaseUrl
        ? { apiKey: options.googleApiKey, baseUrl: options.googleBaseUrl }
        : { apiKey: options.googleApiKey },
    );
  } else {
    const espeak = preferSystem ? findExecutable('espeak-ng') : undefined;
    if (espeak) engine = new SystemEspeak(espeak);
    else {
      const threads = options.ttsThreads ?? 1;
      const wasm = threads > 0 ? new WasmEspeakPool(threads) : new WasmEspeak();
      // Failure here resurfaces (and is reported) on the first render.
      if (options.warmUp ?? true) wasm.warm().catch(() => {});
      warm = () => wasm.warm();
      engine = wasm;
    }
  }
  const ttsCache = new AudioCache(options.memoryCacheSamples, options.cacheDir);
  const storedCache = new AudioCache(options.memoryCacheSamples);
  const inflight = new Map<string, Promise<PreparedAudio>>();
  const uploadLimits: UploadLimits = { ...defaultUploadLimits, ...options.uploads };
  const uploadQueue = new FairQueue(uploadLimits);
  // One worker per conversion slot, each given one job at a time: a job's time limit then runs from its
  // start, never while it waits behind another job in the same thread.
  const idleWorkers: Array<JobWorker<UploadWorkerRequest, UploadWorkerReply>> = [];
  const allWorkers: Array<JobWorker<UploadWorkerRequest, UploadWorkerReply>> = [];
  const stats: MediaStats = { ttsRenders: 0, ttsMemoryHits: 0, ttsDiskHits: 0 };

  async function renderUncached(key: string, text: string, voice: ReturnType<typeof resolveVoice>) {
    const fromDisk = await ttsCache.readDisk(key);
    if (fromDisk) {
      stats.ttsDiskHits++;
      return fromDisk;
    }
    stats.ttsRenders++;
    const samples = await engine.synthesize(text, voice);
    const audio: PreparedAudio = { key, sampleRate: 8000, samples, durationMs: durationMs(samples.length) };
    // A full disk must not fail the call that wanted the audio; the memory cache still has it.
    await ttsCache.writeDisk(audio).catch(() => {});
    return audio;
  }

  return {
    engines: { tts: engine.id, upload: ffmpeg ? 'ffmpeg' : 'npm' },

    async ready(): Promise<void> {
      await warm();
    },

    uploadLimits,

    async convertUpload(data: Buffer, _fileName: string, owner = ''): Promise<ConvertedUpload> {
      // The name is deliberately ignored: the content decides the format (see formats.ts).
      return uploadQueue.run(owner, async () => {
        if (ffmpeg) return convertWithFfmpeg(ffmpeg, data, uploadLimits);
        if (!(options.uploadWorker ?? true)) return convertWithNpm(data, uploadLimits);
        let worker = idleWorkers.pop();
        if (!worker) {
          worker = new JobWorker<UploadWorkerRequest, UploadWorkerReply>('upload-worker');
          allWorkers.push(worker);
        }
        try {
          return await convertWithNpmInWorker(worker, data, uploadLimits);
        } finally {
          idleWorkers.push(worker);
        }
      });
    },

    async loadStored(key: string, stored: Buffer): Promise<PreparedAudio> {
      const hit = storedCache.get(key);
      if (hit) return hit;
      const samples = decodeTelephoneWav(stored);
      const audio: PreparedAudio = { key, sampleRate: 8000, samples, durationMs: durationMs(samples.length) };
      storedCache.set(audio);
      return audio;
    },

    async renderTts(request: TtsRequest): Promise<PreparedAudio> {
      if (typeof request.text !== 'string')
        throw new MediaInputError('text', 'text is required for text-to-speech');
      // Normalised so trivially different spellings of the same prompt share one render.
      const text = request.text.normalize('NFC').replace(/\s+/g, ' ').trim();
      if (text === '') throw new MediaInputError('text', 'text must not be empty');
      if (text.length > MAX_TTS_TEXT_CHARS)
        throw new MediaInputError(
          'text',
          `text is ${text.length} characters; the limit is ${MAX_TTS_TEXT_CHARS}`,
        );
      const voice = resolveVoice(request);
      const key = createHash('sha256')
        .update(
          JSON.stringify([engine.cacheTag, voice.lan, voice.accent, voice.gender, voice.speakingRate, text]),
        )
        .digest('hex');
      const hit = ttsCache.get(key);
      if (hit) {
        stats.ttsMemoryHits++;
        return hit;
      }
      // Concurrent identical requests (a campaign starting many calls at once) share one render.
      let pending = inflight.get(key);
      if (!pending) {
        pending = renderUncached(key, text, voice).then(
          (audio) => {
            ttsCache.set(audio);
            inflight.delete(key);
            return audio;
          },
          (error: unknown) => {
            inflight.delete(key);
            throw error;
          },
        );
        inflight.set(key, pending);
      }
      return pending;
    },

    languages(): LanguageInfo[] {
      return languageInfos(engine.id === 'google' ? 'google' : 'espeak');
    },

    resolveVoice,

    describe(): string {
      const uploads = ffmpeg
        ? `uploads: ffmpeg (${ffmpeg}) for mp3, wav, m4a`
        : 'uploads: npm wavefile + mpg123-decoder for mp3, wav (m4a needs ffmpeg)';
      const cache = `tts cache: memory${options.cacheDir ? ` + ${options.cacheDir}` : ''}`;
      return `tts: ${engine.name}; ${uploads}; ${cache}`;
    },

    stats: () => ({ ...stats }),

    async close(): Promise<void> {
      await engine.close();
      await Promise.all(allWorkers.map((worker) => worker.close()));
      ttsCache.clear();
      storedCache.clear();
    },
  };
}
