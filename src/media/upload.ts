/**
 * Upload conversion: sniff the format from the bytes, decode (system ffmpeg, else pure npm decoders),
 * and store once as an 8 kHz mono G.711 u-law WAV — the form every call plays.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durationMs, floatToInt16, parseWavChunks, resample, TELEPHONE_RATE, writeWav } from './audio.ts';
import { checkWavFormat, DecodeFailure, decodeMp3Upload, decodeWavUpload } from './decode.ts';
import { declaredMp3DurationMs, detectFormat, type UploadFormat } from './formats.ts';
import { processLimiter, runProcess } from './process.ts';
import { type ConvertedUpload, MediaInputError, type UploadLimits } from './types.ts';
import type { JobWorker } from './worker.ts';

/** What a conversion is held to: the configured size and duration, and its own time limit. */
export type ConversionLimits = Pick<UploadLimits, 'maxBytes' | 'maxDurationMs' | 'workTimeoutMs'>;

const minutes = (ms: number) => `${Math.round(ms / 6000) / 10} minutes`;

const DEMUXER: Record<UploadFormat, string> = { mp3: 'mp3', wav: 'wav', m4a: 'mov' };

function fail(reason: string): never {
  throw new MediaInputError('file', reason);
}

export function sniff(data: Buffer, limits: ConversionLimits): UploadFormat {
  if (data.length === 0) fail('file is empty');
  if (data.length > limits.maxBytes)
    fail(`file is ${(data.length / 1048576).toFixed(1)} MB; the limit is ${megabytes(limits.maxBytes)} MB`);
  const format = detectFormat(data);
  if (!format) fail('file is not an MP3, WAV or M4A audio file (content not recognised)');
  if (format === 'wav') {
    // Checked here too (not only in the npm path) so both paths refuse the same truncated files.
    const chunks = parseWavChunks(data);
    if (typeof chunks === 'string') fail(chunks);
    if (chunks.truncated) fail('WAV file is truncated (data chunk shorter than its header says)');
    if (chunks.data.length === 0) fail('WAV file contains no audio');
    const problem = checkWavFormat(chunks);
    if (problem) fail(problem);
    // The header tells the length: refuse a long recording before decoding any of it.
    const seconds = chunks.data.length / ((chunks.bitsPerSample / 8) * chunks.channels * chunks.sampleRate);
    if (seconds * 1000 > limits.maxDurationMs + 1000)
      fail(`recording is ${Math.round(seconds)} s long; the limit is ${minutes(limits.maxDurationMs)}`);
  }
  return format;
}

export function megabytes(bytes: number): string {
  return String(Math.round((bytes / 1048576) * 10) / 10);
}

function checkResult(
  format: UploadFormat,
  data: Buffer,
  sampleCount: number,
  limits: ConversionLimits,
): void {
  if (sampleCount < TELEPHONE_RATE / 20)
    fail(`${format.toUpperCase()} file contains no audio (or under 50 ms)`);
  const ms = durationMs(sampleCount);
  if (ms > limits.maxDurationMs)
    fail(`recording is ${Math.round(ms / 1000)} s long; the limit is ${minutes(limits.maxDurationMs)}`);
  if (format === 'mp3') {
    const declared = declaredMp3DurationMs(data);
    // Encoder delay/padding trimming accounts for up to ~2 frames; more missing means the tail is gone.
    if (declared && ms < declared.durationMs - Math.max(150, 3 * declared.frameMs))
      fail(`MP3 file is truncated (${ms} ms of ${Math.round(declared.durationMs)} ms declared)`);
  }
}

export async function convertWithFfmpeg(
  ffmpeg: string,
  data: Buffer,
  limits: ConversionLimits,
): Promise<ConvertedUpload> {
  const format = sniff(data, limits);
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
          String(limits.maxDurationMs / 1000 + 1),
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
        // Counted from the start of this conversion: the fair queue in front of it has its own wait limit.
        { timeoutMs: limits.workTimeoutMs },
      ),
    );
    if (result.timedOut)
      fail(`${format.toUpperCase()} file could not be decoded within ${limits.workTimeoutMs / 1000} s`);
    // ffmpeg's own words (paths, heap addresses, library versions) are not the client's business.
    if (result.code !== 0)
      fail(`${format.toUpperCase()} file could not be decoded (damaged, or an unsupported encoding)`);
    const stored = await readFile(output).catch(() => fail(`${format.toUpperCase()} file contains no audio`));
    const chunks = parseWavChunks(stored);
    if (typeof chunks === 'string') fail(`${format.toUpperCase()} file contains no audio`);
    // u-law: one byte per sample.
    checkResult(format, data, chunks.data.length, limits);
    return { stored, durationMs: durationMs(chunks.data.length), format };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function convertWithNpm(data: Buffer, limits: ConversionLimits): Promise<ConvertedUpload> {
  const format = sniff(data, limits);
  if (format === 'm4a')
    fail('M4A uploads need ffmpeg on the server (not installed here); upload MP3 or WAV instead');
  let samples: Int16Array;
  try {
    if (format === 'wav') {
      // The WAV's length was checked from its header in sniff(): decoding it whole is bounded.
      const decoded = decodeWavUpload(data);
      samples = floatToInt16(resample(decoded.samples, decoded.sampleRate, TELEPHONE_RATE));
    } else {
      // Decoded and resampled piece by piece, stopping as soon as the limit is passed: a small MP3 can
      // hold hours of audio (an "MP3 bomb"), which must never be decoded whole.
      samples = floatToInt16(await decodeMp3Upload(data, limits.maxDurationMs + 1000));
    }
  } catch (error) {
    if (error instanceof DecodeFailure) {
      if (error.tooLong)
        fail(
          `recording is over ${Math.round(error.tooLong / 1000)} s long; the limit is ${minutes(limits.maxDurationMs)}`,
        );
      fail(error.message);
    }
    throw error;
  }
  checkResult(format, data, samples.length, limits);
  return { stored: writeWav(samples, 'ulaw'), durationMs: durationMs(samples.length), format };
}

export type UploadWorkerReply =
  | { converted: ConvertedUpload }
  | { inputError: { field: string; message: string } }
  | { error: string };

/**
 * convertWithNpm in a worker thread: a 10-minute 48 kHz upload costs seconds of CPU, which must not stall
 * the event loop that paces live calls; the job is abandoned (worker killed) at its time limit, like ffmpeg.
 */
export interface UploadWorkerRequest {
  data: Uint8Array;
  limits: ConversionLimits;
}

export async function convertWithNpmInWorker(
  worker: JobWorker<UploadWorkerRequest, UploadWorkerReply>,
  data: Buffer,
  limits: ConversionLimits,
): Promise<ConvertedUpload> {
  const format = sniff(data, limits); // cheap refusals (empty, unknown, M4A) need no thread
  if (format === 'm4a') return convertWithNpm(data, limits);
  // The worker runs one job at a time (the fair queue hands it one), so this limit counts from the start.
  const reply = await worker.run(
    { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), limits },
    limits.workTimeoutMs,
  );
  if (reply === 'timeout')
    fail(`${format.toUpperCase()} file could not be decoded within ${limits.workTimeoutMs / 1000} s`);
  if ('inputError' in reply) throw new MediaInputError(reply.inputError.field, reply.inputError.message);
  if ('error' in reply) throw new Error(reply.error);
  // Structured clone turns the Buffer into a plain Uint8Array.
  const stored = reply.converted.stored as Uint8Array;
  return { ...reply.converted, stored: Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength) };
}
