/** SIT classification (E.180 / SR-2275) on synthetic, G.711-coded audio. */
import { describe, expect, it } from 'vitest';
import { decodeG711, encodeG711 } from '../../src/telephony/sip/rtp/g711.ts';
import { SIT_SEQUENCES, type SitClass, SitDetector } from '../../src/telephony/sip/rtp/sit-detector.ts';

/** Seeded noise (mulberry32), so a failure reproduces. */
let seed = 19;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Tones back to back (2 ms gaps), at -20 dBFS, through a µ-law round trip like RTP would carry them. */
function synth(segments: ReadonlyArray<readonly [number, number]>, leadMs = 300, noise = 0): Int16Array {
  const parts: number[] = [];
  for (let i = 0; i < leadMs * 8; i++) parts.push(Math.round((random() - 0.5) * noise));
  let phase = 0;
  for (const [freq, ms] of segments) {
    for (let i = 0; i < ms * 8; i++) {
      phase += (2 * Math.PI * freq) / 8000;
      parts.push(Math.round(3277 * Math.sin(phase) + (random() - 0.5) * noise));
    }
    for (let i = 0; i < 16; i++) parts.push(0);
  }
  return decodeG711('PCMU', encodeG711('PCMU', Int16Array.from(parts)));
}

/** Feeds the audio in RTP-sized 20 ms chunks, as the receive path does. */
function detect(pcm: Int16Array): SitClass | undefined {
  const d = new SitDetector();
  for (let i = 0; i < pcm.length; i += 160) {
    const found = d.push(pcm.subarray(i, i + 160));
    if (found) return found;
  }
  return undefined;
}

describe('SIT detector', () => {
  for (const cls of ['vacant', 'intercept', 'reorder', 'no-circuit'] as const) {
    it(`classifies the ${cls} sequence, at any alignment to the 20 ms frames and with noise`, () => {
      for (const lead of [0, 7, 13, 300]) {
        expect(detect(synth(SIT_SEQUENCES[cls], lead, 300))).toBe(cls);
      }
    });
  }

  it('classifies the other SR-2275 codes: RO" and NC" (inter-LATA), IO (as reorder)', () => {
    const ro2 = [
      [985.2, 274],
      [1370.6, 380],
      [1776.7, 380],
    ] as const;
    const nc2 = [
      [913.8, 380],
      [1370.6, 380],
      [1776.7, 380],
    ] as const;
    const io = [
      [913.8, 380],
      [1370.6, 274],
      [1776.7, 380],
    ] as const;
    expect(detect(synth(ro2))).toBe('reorder');
    expect(detect(synth(nc2))).toBe('no-circuit');
    expect(detect(synth(io))).toBe('reorder');
  });

  it('stays silent on ringback, a single tone, white noise, tones out of order or too short', () => {
    const ringback: Array<readonly [number, number]> = [];
    for (let i = 0; i < 3; i++) ringback.push([440, 2000], [0, 4000]);
    expect(detect(synth(ringback))).toBeUndefined();
    expect(detect(synth([[1000, 3000]]))).toBeUndefined();
    expect(detect(synth([], 5000, 20000))).toBeUndefined();
    expect(
      detect(
        synth([
          [1776.7, 380],
          [1370.6, 274],
          [985.2, 380],
        ]),
      ),
    ).toBeUndefined();
    expect(
      detect(
        synth([
          [985.2, 100],
          [1370.6, 100],
          [1776.7, 100],
        ]),
      ),
    ).toBeUndefined();
  });
});
