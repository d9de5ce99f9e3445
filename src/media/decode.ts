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
export class DecodeFailure extends Error {}

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
  if (chunks.channels < 1 || chunks.channels > 8)
    throw new DecodeFailure(`WAV has ${chunks.channels} channels`);
  if (chunks.sampleRate < 4000 || chunks.sampleRate > 192000)
    throw new DecodeFailure(`WAV sample rate ${chunks.sampleRate} Hz is out of range`);
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

export async function decodeMp3Upload(buf: Buffer): Promise<{ samples: Float32Array; sampleRate: number }> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const result = decoder.decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    if (result.samplesDecoded === 0 || result.sampleRate === 0)
      throw new DecodeFailure('MP3 contains no decodable audio frames');
    // mpg123 skips damaged frames and reports them; a few is a scratched file, many is garbage.
    const frames = Math.max(1, result.samplesDecoded / 1152);
    if (result.errors.length > 2 && result.errors.length > frames * 0.05)
      throw new DecodeFailure(`MP3 is corrupt (${result.errors.length} damaged frames)`);
    return { samples: mixToMono(result.channelData), sampleRate: result.sampleRate };
  } finally {
    decoder.free();
  }
}
