/** G.711 encode/decode for 8 kHz PCM16, via `alawmulaw` (which needs a default import under ESM). */
import alawmulaw from 'alawmulaw';
import type { G711Codec } from '../sdp.ts';

export function encodeG711(codec: G711Codec, samples: Int16Array): Buffer {
  const out = codec === 'PCMU' ? alawmulaw.mulaw.encode(samples) : alawmulaw.alaw.encode(samples);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function decodeG711(codec: G711Codec, payload: Uint8Array): Int16Array {
  return codec === 'PCMU' ? alawmulaw.mulaw.decode(payload) : alawmulaw.alaw.decode(payload);
}

/** Small cache so the same prompt played on many calls is encoded once per law. */
export class EncodingCache {
  private readonly map = new Map<string, Buffer>();
  constructor(private readonly max = 64) {}

  get(key: string, codec: G711Codec, samples: Int16Array): Buffer {
    const k = `${codec}:${key}`;
    let v = this.map.get(k);
    if (v) {
      // Refresh recency for LRU eviction.
      this.map.delete(k);
      this.map.set(k, v);
      return v;
    }
    v = encodeG711(codec, samples);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return v;
  }
}
