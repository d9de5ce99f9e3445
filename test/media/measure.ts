/** Audio measurements the media tests assert on (so they test what callers hear, not implementation details). */

/**
 * Median fundamental frequency of voiced 40 ms frames, by normalised autocorrelation over 60-400 Hz.
 * Good enough to tell eSpeak's male (~105 Hz) from female (~200 Hz) variants.
 */
export function medianF0(samples: Int16Array, rate = 8000): number {
  const frame = Math.round(rate * 0.04);
  const minLag = Math.floor(rate / 400);
  const maxLag = Math.ceil(rate / 60);
  const estimates: number[] = [];
  for (let start = 0; start + frame + maxLag < samples.length; start += frame) {
    let energy = 0;
    for (let i = 0; i < frame; i++) energy += samples[start + i]! ** 2;
    if (Math.sqrt(energy / frame) < 500) continue; // silence or faint consonant
    let bestLag = 0;
    let best = 0;
    for (let lag = minLag; lag <= maxLag; lag++) {
      let num = 0;
      let e2 = 0;
      for (let i = 0; i < frame; i++) {
        num += samples[start + i]! * samples[start + i + lag]!;
        e2 += samples[start + i + lag]! ** 2;
      }
      const r = num / Math.sqrt(energy * e2 + 1);
      if (r > best) {
        best = r;
        bestLag = lag;
      }
    }
    if (best > 0.6) estimates.push(rate / bestLag);
  }
  estimates.sort((a, b) => a - b);
  return estimates[Math.floor(estimates.length / 2)] ?? 0;
}

/** Frequency of a pure tone by counting zero crossings of the middle 80 % (skips fades). */
export function toneFrequency(samples: Int16Array, rate = 8000): number {
  const from = Math.floor(samples.length * 0.1);
  const to = Math.floor(samples.length * 0.9);
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return crossings / 2 / ((to - from) / rate);
}

export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Mean absolute difference over the common length, relative to the first signal's RMS. */
export function relativeDifference(a: Int16Array, b: Int16Array): number {
  const n = Math.min(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / Math.max(1, n) / Math.max(1, rms(a));
}

/** A PCM16 WAV of a sine tone, any rate and channel count (upload input, built in the test). */
export function sineWav(options: { freq: number; seconds: number; rate: number; channels: number }): Buffer {
  const frames = Math.round(options.seconds * options.rate);
  const data = Buffer.alloc(frames * options.channels * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(Math.sin((2 * Math.PI * options.freq * i) / options.rate) * 12000);
    for (let c = 0; c < options.channels; c++) data.writeInt16LE(v, (i * options.channels + c) * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(options.channels, 22);
  header.writeUInt32LE(options.rate, 24);
  header.writeUInt32LE(options.rate * options.channels * 2, 28);
  header.writeUInt16LE(options.channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
