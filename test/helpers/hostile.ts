/** Hostile inputs for the tenant-safety tests, made here so no fixture file is needed. */
import { sineWav } from '../media/measure.ts';

/**
 * An "MP3 bomb": `bytes` of silent MPEG-1 layer III frames at 32 kbps, 48 kHz stereo. Each 96-byte frame
 * is 24 ms of audio, so 10 MB holds about 44 minutes — over 1 GB once decoded to 48 kHz stereo floats.
 */
export function mp3Bomb(bytes: number): Buffer {
  const frameLength = 96; // 144 × 32000 / 48000
  const frame = Buffer.alloc(frameLength);
  frame[0] = 0xff;
  frame[1] = 0xfb; // MPEG-1, layer III, no CRC
  frame[2] = 0x14; // 32 kbps, 48 kHz, no padding
  frame[3] = 0x00; // stereo
  const count = Math.floor(bytes / frameLength);
  const out = Buffer.alloc(count * frameLength);
  for (let i = 0; i < count; i++) frame.copy(out, i * frameLength);
  return out;
}

/** A WAV whose header says 0 bits per sample (every length computed from it would be infinite). */
export function wavWithZeroBits(): Buffer {
  const wav = Buffer.from(sineWav({ freq: 300, seconds: 1, rate: 8000, channels: 1 }));
  wav.writeUInt16LE(0, 34); // bitsPerSample
  wav.writeUInt16LE(0, 32); // blockAlign
  return wav;
}
