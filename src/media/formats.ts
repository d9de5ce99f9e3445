/**
 * Content sniffing for uploads: the file's bytes decide the format, never its name, so a renamed or
 * hostile file cannot steer which decoder (or ffmpeg demuxer) sees it.
 */

export type UploadFormat = 'mp3' | 'wav' | 'm4a';

const MPEG_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};
const L3_BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const L3_BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

export interface MpegFrameHeader {
  offset: number;
  sampleRate: number;
  samplesPerFrame: number;
  frameLength: number;
}

/** Parses an MPEG audio layer III frame header at `offset`, or undefined when the bytes are not one. */
export function mpegFrameAt(buf: Buffer, offset: number): MpegFrameHeader | undefined {
  if (offset + 4 > buf.length) return undefined;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  if (buf[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 0x03;
  const layer = (b1 >> 1) & 0x03;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0x03;
  // Layer III only (layer bits 01): mp3 uploads; layers I/II would be accepted by neither original API.
  if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3)
    return undefined;
  const sampleRate = MPEG_RATES[version]![rateIndex]!;
  const bitrate = (version === 3 ? L3_BITRATES_V1 : L3_BITRATES_V2)[bitrateIndex]! * 1000;
  const samplesPerFrame = version === 3 ? 1152 : 576;
  const padding = (b2 >> 1) & 0x01;
  const frameLength = Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + padding;
  return { offset, sampleRate, samplesPerFrame, frameLength };
}

function id3Length(buf: Buffer): number {
  if (buf.length < 10 || buf.toString('latin1', 0, 3) !== 'ID3') return 0;
  // Syncsafe integer: 7 bits per byte.
  const size =
    ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f);
  const footer = buf[5]! & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** First MPEG frame that is followed by a second valid frame (one stray 0xFFE… pair proves nothing). */
export function firstMpegFrame(buf: Buffer): MpegFrameHeader | undefined {
  const start = id3Length(buf);
  const limit = Math.min(buf.length, start + 64 * 1024);
  for (let i = start; i < limit; i++) {
    const frame = mpegFrameAt(buf, i);
    if (!frame) continue;
    const next = i + frame.frameLength;
    if (next === buf.length || mpegFrameAt(buf, next)) return frame;
  }
  return undefined;
}

export function detectFormat(buf: Buffer): UploadFormat | undefined {
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE')
    return 'wav';
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') return 'm4a';
  if (firstMpegFrame(buf)) return 'mp3';
  return undefined;
}

/**
 * Duration the encoder declared in a Xing/Info header (LAME and ffmpeg write one), used to tell a
 * truncated mp3 from a short one. Undefined when the file carries no frame count.
 */
export function declaredMp3DurationMs(buf: Buffer): { durationMs: number; frameMs: number } | undefined {
  const frame = firstMpegFrame(buf);
  if (!frame) return undefined;
  const window = buf.subarray(frame.offset + 4, Math.min(buf.length, frame.offset + 4 + 64));
  let at = window.indexOf('Xing', 0, 'latin1');
  if (at < 0) at = window.indexOf('Info', 0, 'latin1');
  if (at < 0 || at + 12 > window.length) return undefined;
  const flags = window.readUInt32BE(at + 4);
  if ((flags & 1) === 0) return undefined;
  const frames = window.readUInt32BE(at + 8);
  const frameMs = (frame.samplesPerFrame * 1000) / frame.sampleRate;
  return { durationMs: frames * frameMs, frameMs };
}
