/**
 * Special Information Tone detection (ITU-T E.180 §2.7 / Telcordia SR-2275 §6.21): three tone segments
 * in rising order, the first 913.8 or 985.2 Hz, the second 1370.6 or 1428.5 Hz, the third 1776.7 Hz,
 * the first two short (274 ms) or long (380 ms). Which frequency and which length each of the first two
 * has names the condition:
 *
 *   segment 1      segment 2      class        SR-2275 code
 *   913.8  short   1370.6 short   intercept    IC
 *   985.2  long    1370.6 short   vacant       VC
 *   913.8  short   1428.5 long    reorder      RO' (intra-LATA)
 *   985.2  short   1370.6 long    reorder      RO" (inter-LATA)
 *   913.8  long    1370.6 short   reorder      IO  (ineffective other: retry later, like reorder)
 *   985.2  long    1428.5 long    no-circuit   NC' (intra-LATA)
 *   913.8  long    1370.6 long    no-circuit   NC" (inter-LATA)
 *
 * Method: each 20 ms frame (160 samples at 8 kHz) gets Goertzel powers at the five frequencies; a frame
 * belongs to a segment's band when that band holds most of the frame's energy. Runs of frames make the
 * segments (a frame straddling two tones may go either way, so lengths are ±20 ms: short is 13-14 frames,
 * long 18-19, split at 330 ms). Within a band the stronger of the two frequencies, summed over the
 * segment, decides (they are 1.4 Goertzel bins apart at N = 160). Hand-written: no npm package does SIT
 * classification, and the Goertzel loop is a dozen lines.
 */

export type SitClass = 'vacant' | 'reorder' | 'no-circuit' | 'intercept';

const RATE = 8000;
export const SIT_FRAME = 160;
const FREQS = [913.8, 985.2, 1370.6, 1428.5, 1776.7] as const;
const COEFFS = FREQS.map((f) => 2 * Math.cos((2 * Math.PI * f) / RATE));
/** A band must hold this share of the frame's energy. A pure tone gives ≈1, speech rarely over 0.3. */
const BAND_SHARE = 0.6;
/** Below this mean square (≈ -45 dBFS) a frame is silence. */
const MIN_POWER = 32768 * 32768 * 10 ** (-45 / 10);
/** Segment length limits in frames: at least 200 ms, at most 460 ms; short/long split at 330 ms. */
const MIN_FRAMES = 10;
const MAX_FRAMES = 23;
const LONG_FROM_FRAMES = 16.5;
/** Frames of silence or noise allowed between segments (E.180 allows ≤ 30 ms; one boundary frame more). */
const MAX_GAP_FRAMES = 2;

type Band = 0 | 1 | 2;

interface Segment {
  band: Band;
  frames: number;
  /** Summed Goertzel powers of the band's two frequencies (only one for band 2). */
  lowPower: number;
  highPower: number;
}

function goertzel(samples: Int16Array, offset: number, coeff: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = offset; i < offset + SIT_FRAME; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

export class SitDetector {
  private pending = new Int16Array(0);
  private segments: Segment[] = [];
  private current: Segment | undefined;
  private gap = 0;
  private result: SitClass | undefined;

  /** The class once a full sequence was heard (then further input is ignored). */
  get detected(): SitClass | undefined {
    return this.result;
  }

  /** Feeds 8 kHz PCM; returns the class when this input completed a SIT sequence. */
  push(samples: Int16Array): SitClass | undefined {
    if (this.result) return undefined;
    let buf = samples;
    if (this.pending.length) {
      buf = new Int16Array(this.pending.length + samples.length);
      buf.set(this.pending);
      buf.set(samples, this.pending.length);
    }
    let offset = 0;
    for (; offset + SIT_FRAME <= buf.length; offset += SIT_FRAME) {
      this.frame(buf, offset);
      if (this.result) return this.result;
    }
    this.pending = buf.slice(offset);
    return undefined;
  }

  private frame(buf: Int16Array, offset: number): void {
    let energy = 0;
    for (let i = offset; i < offset + SIT_FRAME; i++) energy += buf[i]! * buf[i]!;
    const p = COEFFS.map((c) => goertzel(buf, offset, c));
    let band: Band | undefined;
    if (energy / SIT_FRAME >= MIN_POWER) {
      // For a pure tone of amplitude A: Goertzel power ≈ (A·N/2)², frame energy ≈ A²·N/2.
      const scale = (energy * SIT_FRAME) / 2;
      const shares = [(p[0]! + p[1]!) / scale, (p[2]! + p[3]!) / scale, p[4]! / scale];
      const best = shares.indexOf(Math.max(...shares)) as Band;
      if (shares[best]! >= BAND_SHARE) band = best;
    }
    this.track(band, p);
  }

  private track(band: Band | undefined, p: number[]): void {
    const cur = this.current;
    if (band !== undefined && cur && cur.band === band) {
      cur.frames++;
      cur.lowPower += band === 2 ? p[4]! : p[band * 2]!;
      cur.highPower += band === 2 ? 0 : p[band * 2 + 1]!;
      this.gap = 0;
      if (band === 2 && cur.frames >= MIN_FRAMES && this.segments.length === 2) this.classify();
      return;
    }
    if (cur) this.close();
    if (band === undefined) {
      this.gap++;
      if (this.gap > MAX_GAP_FRAMES) this.segments = [];
      return;
    }
    // A new band: it must be the next one of the sequence (0, 1, 2) after a short gap, else start again.
    if (band !== this.segments.length || (this.segments.length > 0 && this.gap > MAX_GAP_FRAMES)) {
      this.segments = [];
    }
    this.gap = 0;
    this.current = {
      band,
      frames: 1,
      lowPower: band === 2 ? p[4]! : p[band * 2]!,
      highPower: band === 2 ? 0 : p[band * 2 + 1]!,
    };
  }

  /** Ends the current run: a plausible segment is kept, anything else breaks the sequence. */
  private close(): void {
    const cur = this.current!;
    this.current = undefined;
    if (cur.frames < MIN_FRAMES || cur.frames > MAX_FRAMES || cur.band !== this.segments.length) {
      this.segments = [];
      // A run of band 0 that was too short or long may still be followed by a real SIT: nothing to keep.
      return;
    }
    if (cur.band < 2) this.segments.push(cur);
  }

  private classify(): void {
    const [first, second] = this.segments as [Segment, Segment];
    const high1 = first.highPower > first.lowPower;
    const long1 = first.frames >= LONG_FROM_FRAMES;
    const high2 = second.highPower > second.lowPower;
    const long2 = second.frames >= LONG_FROM_FRAMES;
    const code = `${high1 ? 'H' : 'L'}${long1 ? 'L' : 'S'}${high2 ? 'H' : 'L'}${long2 ? 'L' : 'S'}`;
    const table: Record<string, SitClass> = {
      LSLS: 'intercept',
      HLLS: 'vacant',
      LSHL: 'reorder',
      HSLL: 'reorder',
      LLLS: 'reorder',
      HLHL: 'no-circuit',
      LLLL: 'no-circuit',
    };
    const result = table[code];
    if (result) this.result = result;
    else this.segments = [];
  }
}

/** A SIT sequence as PCM (for tests and the benchmark): the segments of `cls`, 2 ms gaps, given level. */
export const SIT_SEQUENCES: Readonly<Record<SitClass, ReadonlyArray<readonly [number, number]>>> = {
  intercept: [
    [913.8, 274],
    [1370.6, 274],
    [1776.7, 380],
  ],
  vacant: [
    [985.2, 380],
    [1370.6, 274],
    [1776.7, 380],
  ],
  reorder: [
    [913.8, 274],
    [1428.5, 380],
    [1776.7, 380],
  ],
  'no-circuit': [
    [985.2, 380],
    [1428.5, 380],
    [1776.7, 380],
  ],
};
