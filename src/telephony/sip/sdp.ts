/**
 * The SDP subset a telephone trunk speaks (RFC 4566, offer/answer RFC 3264): one audio stream, G.711 µ-law or
 * A-law, plus RFC 4733 telephone-event. Parsing is total (never throws); anything unusable yields undefined.
 */

export type G711Codec = 'PCMU' | 'PCMA';

export const STATIC_PT: Readonly<Record<G711Codec, number>> = { PCMU: 0, PCMA: 8 };
export const DEFAULT_DTMF_PT = 101;

export interface AudioDescription {
  /** Connection address for the audio stream. */
  address: string;
  port: number;
  /** Payload types in the order listed on the m= line. */
  payloads: number[];
  /** Payload type → encoding name (upper-case), from rtpmap or the static table. */
  names: Map<number, string>;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export function parseSdp(body: string): AudioDescription | undefined {
  let sessionAddr: string | undefined;
  let mediaAddr: string | undefined;
  let inAudio = false;
  let seenAudio = false;
  let port = -1;
  let payloads: number[] = [];
  const names = new Map<number, string>([
    [0, 'PCMU'],
    [8, 'PCMA'],
  ]);
  let direction: AudioDescription['direction'] = 'sendrecv';
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      if (seenAudio) {
        inAudio = false;
        continue;
      }
      const m = /^audio (\d{1,5})(?:\/\d+)? RTP\/S?AVP((?: \d{1,3})*)$/.exec(value);
      inAudio = !!m;
      if (m) {
        seenAudio = true;
        port = Number(m[1]);
        payloads = m[2]!.trim().split(/\s+/).filter(Boolean).map(Number);
      }
    } else if (type === 'c') {
      const m = /^IN IP4 ([0-9.]+)/.exec(value);
      if (!m) continue;
      if (inAudio) mediaAddr = m[1];
      else if (!seenAudio) sessionAddr = m[1];
    } else if (type === 'a' && !seenAudio && isDirection(value)) {
      // Session-level direction applies unless the media section says otherwise (RFC 4566 §6).
      direction = value;
    } else if (type === 'a' && inAudio) {
      const rtpmap = /^rtpmap:(\d{1,3}) ([A-Za-z0-9-]+)\/(\d+)/.exec(value);
      if (rtpmap) names.set(Number(rtpmap[1]), rtpmap[2]!.toUpperCase());
      else if (isDirection(value)) direction = value;
    }
  }
  const address = mediaAddr ?? sessionAddr;
  if (!seenAudio || address === undefined || port < 0 || port > 65535) return undefined;
  return { address, port, payloads, names, direction };
}

export type Direction = AudioDescription['direction'];

function isDirection(v: string): v is Direction {
  return v === 'sendrecv' || v === 'sendonly' || v === 'recvonly' || v === 'inactive';
}

/** RFC 3264 §6.1: the answer's direction mirrors the offer's (sendonly ↔ recvonly). */
export function answerDirection(offered: Direction): Direction {
  return offered === 'sendonly' ? 'recvonly' : offered === 'recvonly' ? 'sendonly' : offered;
}

export interface Negotiated {
  /** The peer's stated direction: we send nothing while it is sendonly or inactive (on hold). */
  direction: Direction;
  codec: G711Codec;
  payloadType: number;
  /** Telephone-event payload type, if the peer supports RFC 4733. */
  dtmfPayloadType: number | undefined;
  remoteAddress: string;
  remotePort: number;
}

/** Picks the first codec of `preference` that the peer listed (answer: peer order wins per RFC 3264 §6.1). */
export function negotiate(
  desc: AudioDescription,
  preference: readonly G711Codec[],
  peerOrder: boolean,
): Negotiated | undefined {
  let chosen: { codec: G711Codec; pt: number } | undefined;
  const offered = desc.payloads.flatMap((pt) => {
    const name = desc.names.get(pt);
    return name === 'PCMU' || name === 'PCMA' ? [{ codec: name as G711Codec, pt }] : [];
  });
  if (peerOrder) chosen = offered.find((o) => preference.includes(o.codec));
  else
    for (const c of preference) {
      chosen = offered.find((o) => o.codec === c);
      if (chosen) break;
    }
  if (!chosen || desc.port === 0) return undefined;
  const dtmf = desc.payloads.find((pt) => desc.names.get(pt) === 'TELEPHONE-EVENT');
  return {
    direction: desc.direction,
    codec: chosen.codec,
    payloadType: chosen.pt,
    dtmfPayloadType: dtmf,
    remoteAddress: desc.address,
    remotePort: desc.port,
  };
}

export interface LocalSdp {
  address: string;
  port: number;
  sessionId: number;
  version: number;
  /** Codec payloads to list, in order. */
  codecs: readonly G711Codec[];
  dtmfPayloadType: number;
  direction?: Direction;
}

export function buildSdp(s: LocalSdp): string {
  const pts = s.codecs.map((c) => STATIC_PT[c]);
  const lines = [
    'v=0',
    `o=ringcast ${s.sessionId} ${s.version} IN IP4 ${s.address}`,
    's=ringcast',
    `c=IN IP4 ${s.address}`,
    't=0 0',
    `m=audio ${s.port} RTP/AVP ${[...pts, s.dtmfPayloadType].join(' ')}`,
    ...s.codecs.map((c) => `a=rtpmap:${STATIC_PT[c]} ${c}/8000`),
    `a=rtpmap:${s.dtmfPayloadType} telephone-event/8000`,
    `a=fmtp:${s.dtmfPayloadType} 0-16`,
    'a=ptime:20',
    `a=${s.direction ?? 'sendrecv'}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}
