/**
 * Small PCM helpers shared by the upload and TTS paths: WAV chunk parsing/writing, G.711 u-law,
 * resampling, mono mixing. Kept dependency-free so the stored form never depends on an npm package.
 */

export const TELEPHONE_RATE = 8000;

export interface WavChunks {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** The data chunk's bytes (may be shorter than declared only when `truncated`). */
  data: Buffer;
  /** The data chunk declared more bytes than the file holds. */
  truncated: boolean;
}

/** Parses the RIFF/WAVE chunk list; returns a reason string instead of throwing on malformed input. */
export function parseWavChunks(buf: Buffer): WavChunks | string {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE')
    return 'not a RIFF/WAVE file';
  let offset = 12;
  let fmt: Omit<WavChunks, 'data' | 'truncated'> | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('latin1', offset, offset + 4);
    const declared = buf.readUInt32LE(offset + 4);
    const start = offset + 8;
    if (id === 'fmt ') {
      if (declared < 16 || start + 16 > buf.length) return 'WAV fmt chunk is truncated';
      fmt = {
        audioFormat: buf.readUInt16LE(start),
        channels: buf.readUInt16LE(start + 2),
        sampleRate: buf.readUInt32LE(start + 4),
        bitsPerSample: buf.readUInt16LE(start + 14),
      };
      // WAVE_FORMAT_EXTENSIBLE carries the real format code in its sub-format GUID.
      if (fmt.audioFormat === 0xfffe && declared >= 40 && start + 26 <= buf.length)
        fmt.audioFormat = buf.readUInt16LE(start + 24);
    } else if (id === 'data') {
      if (!fmt) return 'WAV data chunk comes before its fmt chunk';
      const available = buf.length - start;
      // 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back: read to the end.
      const streaming = declared === 0 || declared === 0xffffffff;
      const size = streaming ? available : Math.min(declared, available);
      return {
        ...fmt,
        data: buf.subarray(start, start + size),
        truncated: !streaming && declared > available,
      };
    }
    offset = start + declared + (declared % 2);
  }
  return fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk';
}

// G.711 u-law (ITU-T G.711), written from the standard's segment/bias description.
const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;
const ULAW_DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  ULAW_DECODE[i] = u & 0x80 ? -magnitude : magnitude;
}

export function ulawDecode(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ULAW_DECODE[bytes[i]!]!;
  return out;
}

// G.711 A-law: even bits inverted (0x55), then sign/segment/mantissa like u-law but without bias.
export function alawDecode(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const a = bytes[i]! ^ 0x55;
    const exponent = (a >> 4) & 0x07;
    const mantissa = a & 0x0f;
    const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
    out[i] = a & 0x80 ? magnitude : -magnitude;
  }
  return out;
}

export function ulawEncode(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    let s = samples[i]!;
    const sign = s < 0 ? 0x80 : 0;
    if (s < 0) s = -s;
    if (s > ULAW_CLIP) s = ULAW_CLIP;
    s += ULAW_BIAS;
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
    const mantissa = (s >> (exponent + 3)) & 0x0f;
    out[i] = ~(sign | (exponent << 4) | mantissa) & 0xff;
  }
  return out;
}

/** An 8 kHz mono WAV: u-law (format 7, with the fact chunk non-PCM formats need) or PCM16. */
export function writeWav(
  samples: Int16Array,
  encoding: 'ulaw' | 'pcm16',
  sampleRate = TELEPHONE_RATE,
): Buffer {
  const ulaw = encoding === 'ulaw';
  const payload = ulaw
    ? Buffer.from(ulawEncode(samples))
    : Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const bytesPerSample = ulaw ? 1 : 2;
  const fmtSize = ulaw ? 18 : 16;
  const factSize = ulaw ? 12 : 0;
  const header = Buffer.alloc(12 + 8 + fmtSize + factSize + 8);
  let o = 0;
  o = header.write('RIFF', o, 'latin1');
  o = header.writeUInt32LE(header.length - 8 + payload.length + (payload.length % 2), o);
  o += header.write('WAVE', o, 'latin1');
  o += header.write('fmt ', o, 'latin1');
  o = header.writeUInt32LE(fmtSize, o);
  o = header.writeUInt16LE(ulaw ? 7 : 1, o);
  o = header.writeUInt16LE(1, o);
  o = header.writeUInt32LE(sampleRate, o);
  o = header.writeUInt32LE(sampleRate * bytesPerSample, o);
  o = header.writeUInt16LE(bytesPerSample, o);
  o = header.writeUInt16LE(bytesPerSample * 8, o);
  if (ulaw) {
    o = header.writeUInt16LE(0, o);
    o += header.write('fact', o, 'latin1');
    o = header.writeUInt32LE(4, o);
    o = header.writeUInt32LE(samples.length, o);
  }
  o += header.write('data', o, 'latin1');
  header.writeUInt32LE(payload.length, o);
  const pad = payload.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0);
  return Buffer.concat([header, payload, pad]);
}

/** Reads 8 kHz telephone WAVs (u-law, a-law or PCM16, any rate/channels) back to 8 kHz mono Int16. */
export function decodeTelephoneWav(buf: Buffer): Int16Array {
  const wav = parseWavChunks(buf);
  if (typeof wav === 'string') throw new Error(`stored audio is invalid: ${wav}`);
  let pcm: Int16Array;
  if (wav.audioFormat === 7 && wav.bitsPerSample === 8) pcm = ulawDecode(wav.data);
  else if (wav.audioFormat === 1 && wav.bitsPerSample === 16) {
    const aligned = Buffer.from(wav.data.subarray(0, wav.data.length - (wav.data.length % 2)));
    pcm = new Int16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2);
  } else throw new Error(`stored audio has unsupported format ${wav.audioFormat}/${wav.bitsPerSample} bit`);
  if (wav.channels === 1 && wav.sampleRate === TELEPHONE_RATE) return pcm;
  const mono = mixToMono(deinterleave(pcm, wav.channels));
  return floatToInt16(resample(mono, wav.sampleRate, TELEPHONE_RATE));
}

export function deinterleave(pcm: Int16Array, channels: number): Float32Array[] {
  const frames = Math.floor(pcm.length / channels);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = pcm[i * channels + c]! / 32768;
    out.push(ch);
  }
  return out;
}

export function mixToMono(channels: Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) return new Float32Array(0);
  if (channels.length === 1) return first;
  const out = new Float32Array(first.length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i]! += (ch[i] ?? 0) / channels.length;
  return out;
}

export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * 32767);
    out[i] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}

export function int16ToFloat(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! / 32768;
  return out;
}

// Windowed-sinc kernel, tabulated once: ZERO_CROSSINGS lobes each side, TABLE_STEPS entries per lobe.
const ZERO_CROSSINGS = 12;
const TABLE_STEPS = 512;
const KERNEL = (() => {
  const table = new Float32Array(ZERO_CROSSINGS * TABLE_STEPS + 2);
  for (let i = 0; i < table.length; i++) {
    const x = i / TABLE_STEPS;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    // Blackman window over [-Z, Z]: good stop-band for telephone band-limiting at little cost.
    const w =
      x >= ZERO_CROSSINGS
        ? 0
        : 0.42 +
          0.5 * Math.cos((Math.PI * x) / ZERO_CROSSINGS) +
          0.08 * Math.cos((2 * Math.PI * x) / ZERO_CROSSINGS);
    table[i] = sinc * w;
  }
  return table;
})();

function kernelAt(x: number): number {
  const a = Math.abs(x);
  if (a >= ZERO_CROSSINGS) return 0;
  const sinc = a === 0 ? 1 : Math.sin(Math.PI * a) / (Math.PI * a);
  return (
    sinc *
    (0.42 +
      0.5 * Math.cos((Math.PI * a) / ZERO_CROSSINGS) +
      0.08 * Math.cos((2 * Math.PI * a) / ZERO_CROSSINGS))
  );
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Band-limited resampling (windowed sinc). When downsampling, the cut-off sits at 95 % of the new Nyquist
 * frequency so speech keeps its 3.4 kHz telephone band without aliasing.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const scale = Math.min(1, toRate / fromRate) * 0.95;
  const halfWidth = ZERO_CROSSINGS / scale;
  if (Number.isInteger(fromRate) && Number.isInteger(toRate)) {
    const g = gcd(fromRate, toRate);
    // Every common rate pair has few phases (22050→8000: 160, 44100→8000: 80, 48000→8000: 1).
    if (toRate / g <= 1024) return resamplePolyphase(input, fromRate / g, toRate / g, scale, halfWidth);
  }
  const ratio = fromRate / toRate;
  const outLength = Math.floor((input.length * toRate) / fromRate);
  const out = new Float32Array(outLength);
  const tableScale = scale * TABLE_STEPS;
  for (let n = 0; n < outLength; n++) {
    const t = n * ratio;
    const first = Math.max(0, Math.ceil(t - halfWidth));
    const last = Math.min(input.length - 1, Math.floor(t + halfWidth));
    let acc = 0;
    for (let k = first; k <= last; k++) {
      const pos = Math.abs(t - k) * tableScale;
      const idx = pos | 0;
      const frac = pos - idx;
      const a = KERNEL[idx] ?? 0;
      const b = KERNEL[idx + 1] ?? 0;
      acc += input[k]! * (a + (b - a) * frac);
    }
    out[n] = acc * scale;
  }
  return out;
}

/**
 * Same filter for a rational ratio M/L: output n sits at input position n·M/L, whose fractional part
 * takes only L values, so each phase's taps are computed once (~3× faster than interpolating the table).
 */
function resamplePolyphase(
  input: Float32Array,
  m: number,
  l: number,
  scale: number,
  halfWidth: number,
): Float32Array {
  const h = Math.ceil(halfWidth);
  const taps = 2 * h;
  const coeffs = new Float32Array(l * taps);
  for (let p = 0; p < l; p++)
    for (let j = 0; j < taps; j++) coeffs[p * taps + j] = kernelAt((p / l - (j - h + 1)) * scale) * scale;
  const outLength = Math.floor((input.length * l) / m);
  const out = new Float32Array(outLength);
  for (let n = 0; n < outLength; n++) {
    const num = n * m;
    const base = Math.floor(num / l);
    const phase = num - base * l;
    const first = base - h + 1;
    const offset = phase * taps;
    let acc = 0;
    if (first >= 0 && first + taps <= input.length) {
      for (let j = 0; j < taps; j++) acc += input[first + j]! * coeffs[offset + j]!;
    } else {
      for (let j = 0; j < taps; j++) {
        const k = first + j;
        if (k >= 0 && k < input.length) acc += input[k]! * coeffs[offset + j]!;
      }
    }
    out[n] = acc;
  }
  return out;
}

export function durationMs(samples: number, rate = TELEPHONE_RATE): number {
  return Math.round((samples * 1000) / rate);
}

/**
 * The polyphase resampler above, fed in pieces: each output sample is computed as soon as the input it
 * needs has arrived, so a long decode never holds its whole source-rate signal. Same filter and the same
 * output as `resample` on the concatenated input (the test compares them).
 */
export class StreamingResampler {
  private readonly m: number;
  private readonly l: number;
  private readonly h: number;
  private readonly taps: number;
  private readonly coeffs: Float32Array | undefined;
  /** Input samples from absolute index `bufferStart` on. */
  private buffer = new Float32Array(0);
  private bufferStart = 0;
  private inputLength = 0;
  private nextOut = 0;
  /** Rate pairs with too many phases (never the MP3/WAV rates) are resampled in one go at the end. */
  private readonly whole: Float32Array[] | undefined;

  constructor(
    private readonly fromRate: number,
    private readonly toRate: number,
  ) {
    const scale = Math.min(1, toRate / fromRate) * 0.95;
    const halfWidth = ZERO_CROSSINGS / scale;
    const g = Number.isInteger(fromRate) && Number.isInteger(toRate) ? gcd(fromRate, toRate) : 0;
    this.m = g ? fromRate / g : 0;
    this.l = g ? toRate / g : 0;
    this.h = Math.ceil(halfWidth);
    this.taps = 2 * this.h;
    if (fromRate === toRate || !g || this.l > 1024) {
      this.whole = [];
      return;
    }
    const coeffs = new Float32Array(this.l * this.taps);
    for (let p = 0; p < this.l; p++)
      for (let j = 0; j < this.taps; j++)
        coeffs[p * this.taps + j] = kernelAt((p / this.l - (j - this.h + 1)) * scale) * scale;
    this.coeffs = coeffs;
  }

  /** Adds input; returns the output samples that became computable. */
  push(chunk: Float32Array): Float32Array {
    if (this.whole) {
      this.whole.push(chunk.slice());
      return new Float32Array(0);
    }
    const joined = new Float32Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
    this.inputLength += chunk.length;
    return this.emit(false);
  }

  /** The remaining output (input past the end reads as silence, as in `resample`). */
  end(): Float32Array {
    if (this.whole) {
      const all = new Float32Array(this.whole.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of this.whole) {
        all.set(part, at);
        at += part.length;
      }
      return resample(all, this.fromRate, this.toRate);
    }
    return this.emit(true);
  }

  private emit(final: boolean): Float32Array {
    const { m, l, h, taps } = this;
    const coeffs = this.coeffs!;
    const limit = final ? Math.floor((this.inputLength * l) / m) : Number.POSITIVE_INFINITY;
    const out: number[] = [];
    for (;;) {
      const n = this.nextOut;
      if (n >= limit) break;
      const num = n * m;
      const base = Math.floor(num / l);
      if (!final && base + h >= this.inputLength) break;
      const phase = num - base * l;
      const first = base - h + 1;
      const offset = phase * taps;
      let acc = 0;
      for (let j = 0; j < taps; j++) {
        const k = first + j;
        if (k >= 0 && k < this.inputLength) acc += this.buffer[k - this.bufferStart]! * coeffs[offset + j]!;
      }
      out.push(acc);
      this.nextOut++;
    }
    // Keep only what later outputs can still reach.
    const keepFrom = Math.min(this.inputLength, Math.max(0, Math.floor((this.nextOut * m) / l) - h + 1));
    if (keepFrom > this.bufferStart) {
      this.buffer = this.buffer.slice(keepFrom - this.bufferStart);
      this.bufferStart = keepFrom;
    }
    return Float32Array.from(out);
  }
}
