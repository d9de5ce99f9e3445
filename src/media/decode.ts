/**
 * Pure-npm decoders, used when no system ffmpeg is available (the `npm install && npm start` path):
 * WAV through `wavefile` (PCM 8-32 bit, float, u-law, a-law, IMA ADPCM), MP3 through `mpg123-decoder`
 * (WebAssembly). Both end as 8 kHz mono Int16 via our resampler.
 */
import { MPEGDecoder } from 'mpg123-decoder';
import wavefile from 'wavefile';
import { deinterleave, floatToInt16, mixToMono, parseWavChunks, resample, TELEPHONE_RATE } from './audio.ts';

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

export function decodeWavUpload(buf: Buffer): { samples: Float32Array; sampleRate: number } {
  const chunks = parseWavChunks(buf);
  if (typeof chunks === 'string') throw new DecodeFailure(chunks);
  if (chunks.truncated)
    throw new DecodeFailure('WAV file is truncated (data chunk shorter than its header says)');
  if (chunks.channels < 1 || chunks.channels > 8)
    throw new DecodeFailure(`WAV has ${chunks.channels} channels`);
  if (chunks.sampleRate < 4000 || chunks.sampleRate > 192000)
    throw new DecodeFailure(`WAV sample rate ${chunks.sampleRate} Hz is out of range`);
  const wav = new wavefile.WaveFile();
  try {
    wav.fromBuffer(buf);
    if (chunks.audioFormat === 7) wav.fromMuLaw();
    else if (chunks.audioFormat === 6) wav.fromALaw();
    else if (chunks.audioFormat === 17) wav.fromIMAADPCM();
    else if (chunks.audioFormat !== 1 && chunks.audioFormat !== 3)
      throw new DecodeFailure(
        `WAV encoding ${chunks.audioFormat} is not supported (use PCM, float, u-law, a-law)`,
      );
    wav.toBitDepth('32f');
  } catch (error) {
    if (error instanceof DecodeFailure) throw error;
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
