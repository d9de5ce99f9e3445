/**
 * Builds RTP captures for SIPp's `play_pcap_audio` from audio made with sox: classic pcap (LINKTYPE_ETHERNET),
 * one IPv4/UDP/RTP packet per 20 ms frame. SIPp takes the RTP packets and their relative times from the
 * file and sends them to the media address of the call. Hand-written: a pcap file is a 24-byte header and
 * a 16-byte record header per packet, not worth a dependency.
 */
import { execFileSync } from 'node:child_process';

/** Raw 8 kHz G.711 bytes from sox (`-e mu-law` or `-e a-law`) for a sequence of sine segments. */
export function soxTones(
  segments: ReadonlyArray<readonly [freqHz: number, ms: number]>,
  encoding: 'mu-law' | 'a-law' = 'mu-law',
  leadSilenceMs = 200,
): Buffer {
  const parts: Buffer[] = [];
  const make = (effect: string[]) =>
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', encoding, '-t', 'raw', '-', ...effect]);
  if (leadSilenceMs > 0) parts.push(make(['trim', '0', `${leadSilenceMs / 1000}`]));
  for (const [freq, ms] of segments) {
    // -20 dBFS tones, as exchanges send SIT well below full scale.
    parts.push(make(['synth', `${ms / 1000}`, 'sine', String(freq), 'vol', '0.1']));
  }
  return Buffer.concat(parts);
}

/** A pcap of RTP packets carrying `payload` in 160-byte frames, 20 ms apart. */
export function rtpPcap(payload: Buffer, payloadType = 0): Buffer {
  const frames = Math.ceil(payload.length / 160);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records: Buffer[] = [header];
  for (let i = 0; i < frames; i++) {
    const frame = Buffer.alloc(160, payloadType === 8 ? 0xd5 : 0xff);
    payload.copy(frame, 0, i * 160, Math.min((i + 1) * 160, payload.length));
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = (i === 0 ? 0x80 : 0) | payloadType;
    rtp.writeUInt16BE(i & 0xffff, 2);
    rtp.writeUInt32BE(i * 160, 4);
    rtp.writeUInt32BE(0x5197, 8);
    const udpLen = 8 + 12 + 160;
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip[8] = 64;
    ip[9] = 17; // UDP
    Buffer.from([127, 0, 0, 1]).copy(ip, 12);
    Buffer.from([127, 0, 0, 1]).copy(ip, 16);
    let sum = 0;
    for (let j = 0; j < 20; j += 2) sum += ip.readUInt16BE(j);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(6000, 0);
    udp.writeUInt16BE(6002, 2);
    udp.writeUInt16BE(udpLen, 4);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const packet = Buffer.concat([eth, ip, udp, rtp, frame]);
    const rec = Buffer.alloc(16);
    const us = i * 20_000;
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(packet.length, 8);
    rec.writeUInt32LE(packet.length, 12);
    records.push(rec, packet);
  }
  return Buffer.concat(records);
}
