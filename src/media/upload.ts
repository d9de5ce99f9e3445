/**
 * Upload conversion: sniff the format from the bytes, decode (system ffmpeg, else pure npm decoders),
 * and store once as an 8 kHz mono G.711 u-law WAV — the form every call plays.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durationMs, floatToInt16, parseWavChunks, resample, TELEPHONE_RATE, writeWav } from './audio.ts';
import { DecodeFailure, decodeMp3Upload, decodeWavUpload } from './decode.ts';
import { declaredMp3DurationMs, detectFormat, type UploadFormat } from './formats.ts';
import { processLimiter, runProcess } from './process.ts';
import { type ConvertedUpload, MediaInputError } from './types.ts';
import type { JobWorker } from './worker.ts';

/** Largest accepted upload, measured after base64 decoding. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Longest accepted recording. */
export const MAX_UPLOAD_DURATION_MS = 10 * 60 * 1000;
/** ffmpeg gets this long per upload; hostile files must not hold a worker. */
export const FFMPEG_TIMEOUT_MS = 30_000;

const DEMUXER: Record<UploadFormat, string> = { mp3: 'mp3', wav: 'wav', m4a: 'mov' };

function fail(reason: string): never {
  throw new MediaInputError('file', reason);
}

export function sniff(data: Buffer): UploadFormat {
  if (data.length === 0) fail('file is empty');
  if (data.length > MAX_UPLOAD_BYTES)
    fail(`file is ${(data.length / 1048576).toFixed(1)} MB; the limit is ${MAX_UPLOAD_BYTES / 1048576} MB`);
  const format = detectFormat(data);
  if (!format) fail('file is not an MP3, WAV or M4A audio file (content not recognised)');
  if (format === 'wav') {
    // Checked here too (not only in the npm path) so both paths refuse the same truncated files.
    const chunks = parseWavChunks(data);
    if (typeof chunks === 'string') fail(chunks);
    if (chunks.truncated) fail('WAV file is truncated (data chunk shorter than its header says)');
    if (chunks.data.length === 0) fail('WAV file contains no audio');
  }
  return format;
}

function checkResult(format: UploadFormat, data: Buffer, sampleCount: number): void {
  if (sampleCount < TELEPHONE_RATE / 20)
    fail(`${format.toUpperCase()} file contains no audio (or under 50 ms)`);
  const ms = durationMs(sampleCount);
  if (ms > MAX_UPLOAD_DURATION_MS)
    fail(
      `recording is ${Math.round(ms / 1000)} s long; the limit is ${MAX_UPLOAD_DURATION_MS / 60000} minutes`,
    );
  if (format === 'mp3') {
    const declared = declaredMp3DurationMs(data);
    // Encoder delay/padding trimming accounts for up to ~2 frames; more missing means the tail is gone.
    if (declared && ms < declared.durationMs - Math.max(150, 3 * declared.frameMs))
      fail(`MP3 file is truncated (${ms} ms of ${Math.round(declared.durationMs)} ms declared)`);
  }
}

export async function convertWithFfmpeg(ffmpeg: string, data: Buffer): Promise<ConvertedUpload> {
  const format = sniff(data);
  // A file, not stdin: MP4 often keeps its index at the end and ffmpeg must seek to it.
  const dir = await mkdtemp(join(tmpdir(), 'ringcast-upload-'));
  try {
    const input = join(dir, 'in');
    const output = join(dir, 'out.wav');
    await writeFile(input, data);
    const result = await processLimiter.run(() =>
      runProcess(
        ffmpeg,
        [
          '-nostdin',
          '-hide_banner',
          '-loglevel',
          'error',
          // Only local files and only the demuxer the content was sniffed as: no playlists, no network.
          '-protocol_whitelist',
          'file',
          '-f',
          DEMUXER[format],
          '-i',
          input,
          '-vn',
          // One second over the limit is enough to know the recording is too long without decoding it all.
          '-t',
          String(MAX_UPLOAD_DURATION_MS / 1000 + 1),
          '-ar',
          '8000',
          '-ac',
          '1',
          '-c:a',
          'pcm_mulaw',
          '-map_metadata',
          '-1',
          '-fflags',
          '+bitexact',
          '-y',
          output,
        ],
        { timeoutMs: FFMPEG_TIMEOUT_MS },
      ),
    );
    if (result.timedOut)
      fail(`${format.toUpperCase()} file could not be decoded within ${FFMPEG_TIMEOUT_MS / 1000} s`);
    if (result.code !== 0) {
      const reason = result.stderr
        .split('\n')
        .map((l) => l.replaceAll(input, 'input').trim())
        .find((l) => l.length > 0);
      fail(`${format.toUpperCase()} file could not be decoded${reason ? `: ${reason.slice(0, 200)}` : ''}`);
    }
    const stored = await readFile(output).catch(() => fail(`${format.toUpperCase()} file contains no audio`));
    const chunks = parseWavChunks(stored);
    if (typeof chunks === 'string') fail(`${format.toUpperCase()} file contains no audio`);
    // u-law: one byte per sample.
    checkResult(format, data, chunks.data.length);
    return { stored, durationMs: durationMs(chunks.data.length), format };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function convertWithNpm(data: Buffer): Promise<ConvertedUpload> {
  const format = sniff(data);
  if (format === 'm4a')
    fail('M4A uploads need ffmpeg on the server (not installed here); upload MP3 or WAV instead');
  let decoded: { samples: Float32Array; sampleRate: number };
  try {
    decoded = format === 'wav' ? decodeWavUpload(data) : await decodeMp3Upload(data);
  } catch (error) {
    if (error instanceof DecodeFailure) fail(error.message);
    throw error;
  }
  // Bound the work before resampling: duration is known from the decoded length.
  if (decoded.samples.length / decoded.sampleRate > MAX_UPLOAD_DURATION_MS / 1000 + 1)
    fail(
      `recording is ${Math.round(decoded.samples.length / decoded.sampleRate)} s long; the limit is ${MAX_UPLOAD_DURATION_MS / 60000} minutes`,
    );
  const samples = floatToInt16(resample(decoded.samples, decoded.sampleRate, TELEPHONE_RATE));
  checkResult(format, data, samples.length);
  return { stored: writeWav(samples, 'ulaw'), durationMs: durationMs(samples.length), format };
}

export type UploadWorkerReply =
  | { converted: ConvertedUpload }
  | { inputError: { field: string; message: string } }
  | { error: string };

/**
 * convertWithNpm in a worker thread: a 10-minute 48 kHz upload costs seconds of CPU, which must not stall
 * the event loop that paces live calls; the job is abandoned (worker killed) at FFMPEG_TIMEOUT_MS, like ffmpeg.
 */
export async function convertWithNpmInWorker(
  worker: JobWorker<Uint8Array, UploadWorkerReply>,
  data: Buffer,
): Promise<ConvertedUpload> {
  const format = sniff(data); // cheap refusals (empty, unknown, M4A) need no thread
  if (format === 'm4a') return convertWithNpm(data);
  const reply = await worker.run(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    FFMPEG_TIMEOUT_MS,
  );
  if (reply === 'timeout')
    fail(`${format.toUpperCase()} file could not be decoded within ${FFMPEG_TIMEOUT_MS / 1000} s`);
  if ('inputError' in reply) throw new MediaInputError(reply.inputError.field, reply.inputError.message);
  if ('error' in reply) throw new Error(reply.error);
  // Structured clone turns the Buffer into a plain Uint8Array.
  const stored = reply.converted.stored as Uint8Array;
  return { ...reply.converted, stored: Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength) };
}
