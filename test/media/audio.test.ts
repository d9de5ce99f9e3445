import { describe, expect, it } from 'vitest';
import {
  alawDecode,
  decodeTelephoneWav,
  floatToInt16,
  parseWavChunks,
  resample,
  ulawDecode,
  ulawEncode,
  writeWav,
} from '../../src/media/audio.ts';
import { rms, toneFrequency } from './measure.ts';

function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / rate),
  );
}

describe('resampler', () => {
  it('keeps in-band tones (frequency and level) when going to 8 kHz', () => {
    for (const rate of [11025, 16000, 22050, 44100, 48000]) {
      const out = floatToInt16(resample(tone(1000, rate, 1), rate, 8000));
      expect(out.length).toBe(8000);
      expect(toneFrequency(out), `${rate}`).toBeCloseTo(1000, -1);
      // 0.5 full scale sine: RMS 0.354 × 32767 ≈ 11585, within 1 dB away from the edges
      expect(rms(out.subarray(400, 7600)) / 11585, `${rate}`).toBeGreaterThan(0.89);
    }
  });

  it('removes content above the new Nyquist frequency (no aliasing)', () => {
    for (const rate of [22050, 44100, 48000]) {
      const out = floatToInt16(resample(tone(5000, rate, 1), rate, 8000));
      // A 5 kHz tone would alias to 3 kHz; require at least 40 dB attenuation.
      expect(rms(out.subarray(400, 7600)) / 11585, `${rate}`).toBeLessThan(0.01);
    }
  });

  it('polyphase and generic paths agree', () => {
    const input = tone(700, 22050, 0.5);
    const fast = resample(input, 22050, 8000);
    const generic = resample(input, 22050 + 1e-9, 8000); // non-integer rate → table-interpolated path
    let max = 0;
    for (let i = 0; i < Math.min(fast.length, generic.length); i++)
      max = Math.max(max, Math.abs(fast[i]! - generic[i]!));
    expect(max).toBeLessThan(1e-4);
  });
});

describe('G.711 and WAV helpers', () => {
  it('u-law matches G.711 reference points and round-trips within its quantisation', () => {
    expect(Array.from(ulawEncode(Int16Array.from([0, -1, 32767, -32768])))).toEqual([0xff, 0x7f, 0x80, 0x00]);
    expect(Array.from(ulawDecode(Uint8Array.from([0xff, 0x80, 0x00])))).toEqual([0, 32124, -32124]);
    const samples = Int16Array.from({ length: 2000 }, (_, i) => Math.round(Math.sin(i / 7) * 20000));
    const back = ulawDecode(ulawEncode(samples));
    for (let i = 0; i < samples.length; i++)
      expect(Math.abs(back[i]! - samples[i]!)).toBeLessThanOrEqual(Math.abs(samples[i]!) / 16 + 8);
  });

  it('a-law decodes G.711 reference points', () => {
    expect(Array.from(alawDecode(Uint8Array.from([0xd5, 0x55, 0xaa, 0x2a])))).toEqual([8, -8, 32256, -32256]);
  });

  it('writes u-law and PCM16 WAVs that read back', () => {
    const samples = Int16Array.from({ length: 801 }, (_, i) => (i % 50) * 100 - 2500);
    for (const encoding of ['ulaw', 'pcm16'] as const) {
      const wav = writeWav(samples, encoding);
      const chunks = parseWavChunks(wav);
      if (typeof chunks === 'string') throw new Error(chunks);
      expect(chunks).toMatchObject({ channels: 1, sampleRate: 8000, truncated: false });
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(decodeTelephoneWav(wav).length).toBe(801);
    }
  });
});
