/**
 * Pure-npm decoders, used when no system ffmpeg is available (the `npm install && npm start` path):
 * WAV read directly (PCM 8-32 bit, float, u-law, a-law; IMA ADPCM through `wavefile`), MP3 through
 * `mpg123-decoder` (WebAssembly). Both end as 8 kHz mono Int16 via our resampler.
 */
import { MPEGDecoder } from 'mpg123-decoder';
import wavefile from 'wavefile';
import {
  alawDecode,
  deinterleave,
  floatToInt16,
  mixToMono,
  parseWavChunks,
  resample,
  StreamingResampler,
  TELEPHONE_RATE,
  ulawDecode,
  type WavChunks,
} from './audio.ts';

/** Decodes a 16-bit PCM WAV we produced or received from an engine (trusted shape) to 8 kHz mono. */
export function decodePcmWav(buf: Buffer, allowTruncated: boolean): Int16Array {
  const wav = parseWavChunks(buf);
  if (typeof wav === 'string') throw new Error(`engine returned invalid WAV: ${wav}`);
  if (wav.audioFormat !== 1 || wav.bitsPerSample !== 16)
    throw new Error(`engine returned WAV format ${wav.audioFormat}/${wav.bitsPerSample} bit, expected PCM16`);
  if (wav.truncated && !allowTruncated) throw new Error('engine returned a truncated WAV');
  const even = wav.data.subarray(0, wav.data.length - (wav.data.length % 2));
  const copy = Buffer.from(even);
  const pcm = new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2);
  if (wav.channels === 1 && wav.sampleRate === TELEPHONE_RATE) return pcm;
  return floatToInt16(resample(mixToMono(deinterleave(pcm, wav.channels)), wav.sampleRate, TELEPHONE_RATE));
}

/** Decode failure with a reason fit for the API client (no paths, no stack). */
export class DecodeFailure extends Error {
  /** Set when decoding stopped because the recording passed this many ms. */
  tooLong?: number;
}

/**
 * Header values no decoder can work with (a zero sample size would make every length computed from it
 * infinite). Checked for both the ffmpeg and the npm path. Returns the reason, or null when sane.
 */
export function checkWavFormat(chunks: Omit<WavChunks, 'data' | 'truncated'>): string | null {
  if (chunks.channels < 1 || chunks.channels > 8) return `WAV has ${chunks.channels} channels (1-8 accepted)`;
  if (chunks.sampleRate < 4000 || chunks.sampleRate > 192000)
    return `WAV sample rate ${chunks.sampleRate} Hz is out of range (4000-192000)`;
  if (chunks.bitsPerSample < 1 || chunks.bitsPerSample > 64)
    return `WAV bits per sample ${chunks.bitsPerSample} is out of range (1-64)`;
  // PCM, float and G.711 sizes are exact; compressed formats (ADPCM) are checked by their decoder.
  const exact: Record<number, number[]> = { 1: [8, 16, 24, 32], 3: [32, 64], 6: [8], 7: [8] };
  const allowed = exact[chunks.audioFormat];
  if (allowed && !allowed.includes(chunks.bitsPerSample))
    return `WAV encoding ${chunks.audioFormat} with ${chunks.bitsPerSample} bits per sample is not supported`;
  return null;
}

/** Direct PCM/float/G.711 reader: wavefile's generic path is ~100× slower on long recordings. */
function readFrames(chunks: WavChunks): Float32Array | undefined {
  const { data, channels, bitsPerSample, audioFormat } = chunks;
  const bytes = bitsPerSample / 8;
  const frames = Math.floor(data.length / (bytes * channels));
  const mono = new Float32Array(frames);
  let read: (offset: number) => number;
  if (audioFormat === 1 && bitsPerSample === 8) read = (o) => (data[o]! - 128) / 128;
  else if (audioFormat === 1 && bitsPerSample === 16) read = (o) => data.readInt16LE(o) / 32768;
  else if (audioFormat === 1 && bitsPerSample === 24) read = (o) => data.readIntLE(o, 3) / 8388608;
  else if (audioFormat === 1 && bitsPerSample === 32) read = (o) => data.readInt32LE(o) / 2147483648;
  else if (audioFormat === 3 && bitsPerSample === 32) read = (o) => data.readFloatLE(o);
  else if (audioFormat === 3 && bitsPerSample === 64) read = (o) => data.readDoubleLE(o);
  else if (audioFormat === 7 && bitsPerSample === 8) read = (o) => ULAW[data[o]!]! / 32768;
  else if (audioFormat === 6 && bitsPerSample === 8) read = (o) => ALAW[data[o]!]! / 32768;
  else return undefined;
  const stride = bytes * channels;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * stride + c * bytes);
    // NaN/Infinity in a float WAV would poison the resampler; treat them as silence.
    mono[i] = Number.isFinite(sum) ? Math.max(-1, Math.min(1, sum / channels)) : 0;
  }
  return mono;
}

const ULAW = ulawDecode(Uint8Array.from({ length: 256 }, (_, i) => i));
const ALAW = alawDecode(Uint8Array.from({ length: 256 }, (_, i) => i));

export function decodeWavUpload(buf: Buffer): { samples: Float32Array; sampleRate: number } {
  const chunks = parseWavChunks(buf);
  if (typeof chunks === 'string') throw new DecodeFailure(chunks);
  if (chunks.truncated)
    throw new DecodeFailure('WAV file is truncated (data chunk shorter than its header says)');
  const problem = checkWavFormat(chunks);
  if (problem) throw new DecodeFailure(problem);
  const direct = readFrames(chunks);
  if (direct) return { samples: direct, sampleRate: chunks.sampleRate };
  if (chunks.audioFormat !== 17)
    throw new DecodeFailure(
      `WAV encoding ${chunks.audioFormat} (${chunks.bitsPerSample} bit) is not supported: use PCM, float, u-law, a-law or IMA ADPCM`,
    );
  // IMA ADPCM is rare enough that wavefile's slower generic decoder is fine.
  const wav = new wavefile.WaveFile();
  try {
    wav.fromBuffer(buf);
    wav.fromIMAADPCM();
    wav.toBitDepth('32f');
  } catch (error) {
    throw new DecodeFailure(`WAV could not be decoded: ${(error as Error).message}`);
  }
  const interleaved = wav.getSamples(true, Float32Array) as unknown as Float32Array;
  const frames = Math.floor(interleaved.length / chunks.channels);
  const mono = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < chunks.channels; c++) sum += interleaved[i * chunks.channels + c]!;
    mono[i] = sum / chunks.channels;
  }
  return { samples: mono, sampleRate: chunks.sampleRate };
}

/** MP3 bytes handed to the decoder at a time: small enough that the duration check stops a bomb early. */
const MP3_FEED_BYTES = 16 * 1024;

/**
 * Decodes an MP3 to 8 kHz mono, piece by piece: each piece is mixed to mono and resampled at once, and
 * decoding stops with `tooLong` set as soon as more than `maxMs` of audio came out. Memory stays at the
 * 8 kHz result whatever the source rate, and a file that expands to hours is never decoded whole.
 */
export async function decodeMp3Upload(buf: Buffer, maxMs: number): Promise<Float32Array> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    let resampler: StreamingResampler | undefined;
    let sampleRate = 0;
    let sourceSamples = 0;
    let errors = 0;
    const pieces: Float32Array[] = [];
    for (let offset = 0; offset < buf.length; offset += MP3_FEED_BYTES) {
      const piece = buf.subarray(offset, Math.min(buf.length, offset + MP3_FEED_BYTES));
      const result = decoder.decode(new Uint8Array(piece.buffer, piece.byteOffset, piece.length));
      errors += result.errors.length;
      if (result.samplesDecoded === 0) continue;
      if (sampleRate === 0) {
        sampleRate = result.sampleRate;
        resampler = new StreamingResampler(sampleRate, TELEPHONE_RATE);
      } else if (result.sampleRate !== sampleRate) {
        throw new DecodeFailure(`MP3 changes sample rate mid-file (${sampleRate} → ${result.sampleRate} Hz)`);
      }
      sourceSamples += result.samplesDecoded;
      const ms = (sourceSamples * 1000) / sampleRate;
      if (ms > maxMs) {
        const failure = new DecodeFailure('recording is too long');
        failure.tooLong = ms;
        throw failure;
      }
      const mono = mixToMono(result.channelData.map((channel) => channel.subarray(0, result.samplesDecoded)));
      pieces.push(resampler!.push(mono));
    }
    if (sourceSamples === 0 || !resampler) throw new DecodeFailure('MP3 contains no decodable audio frames');
    // mpg123 skips damaged frames and reports them; a few is a scratched file, many is garbage.
    const frames = Math.max(1, sourceSamples / 1152);
    if (errors > 2 && errors > frames * 0.05)
      throw new DecodeFailure(`MP3 is corrupt (${errors} damaged frames)`);
    pieces.push(resampler.end());
    const out = new Float32Array(pieces.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of pieces) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  } finally {
    decoder.free();
  }
}
