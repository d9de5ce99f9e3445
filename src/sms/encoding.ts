/**
 * SMS text encoding: GSM 03.38 7-bit (default alphabet + extension table) or UCS-2, and splitting into
 * concatenated segments with a UDH. Pure functions; the SMPP and HTTP transports both use them so the
 * segment count we bill and report is the one the carrier sees.
 *
 * GSM-7 payloads are "unpacked": one octet per septet, which is what SMPP data_coding 0x00 carries
 * (the SMSC packs septets for the air interface). UCS-2 payloads are UTF-16BE; characters outside the
 * BMP (emoji) travel as surrogate pairs, which handsets decode as UTF-16.
 */

export type SmsEncoding = 'gsm7' | 'ucs2';

/** GSM 03.38 default alphabet; the index is the septet value. 0x1B is the escape to the extension table. */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

const GSM7_ESCAPE = 0x1b;

/** Extension table: character → septet that follows the escape. */
const GSM7_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);

const GSM7_BASIC_INDEX: ReadonlyMap<string, number> = new Map(
  [...GSM7_BASIC]
    .map((ch, i) => [ch, i] as const)
    // The escape septet is not a character of its own: a literal ESC in text must go as UCS-2.
    .filter(([, i]) => i !== GSM7_ESCAPE),
);

const GSM7_EXTENSION_DECODE: ReadonlyMap<number, string> = new Map(
  [...GSM7_EXTENSION].map(([ch, septet]) => [septet, ch] as const),
);

/** Limits in encoding units: septets for GSM-7, UTF-16 code units for UCS-2. */
export const SEGMENT_LIMITS = {
  gsm7: { single: 160, multipart: 153 },
  ucs2: { single: 70, multipart: 67 },
} as const;

/** SMPP data_coding values. */
export const DATA_CODING = { gsm7: 0x00, ucs2: 0x08 } as const;

/** Largest number of parts a concatenated SMS can declare (the UDH count is one octet). */
export const MAX_SEGMENTS = 255;

/** Septets a character takes in GSM-7 (2 for extension characters), or undefined when not encodable. */
function gsm7Width(ch: string): number | undefined {
  if (GSM7_BASIC_INDEX.has(ch)) return 1;
  if (GSM7_EXTENSION.has(ch)) return 2;
  return undefined;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsm7Width(ch) === undefined) return false;
  return true;
}

export function chooseEncoding(text: string): SmsEncoding {
  return isGsm7(text) ? 'gsm7' : 'ucs2';
}

/** Unpacked GSM-7 septets, one per octet; throws on characters outside GSM-7. */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const basic = GSM7_BASIC_INDEX.get(ch);
    if (basic !== undefined) {
      out.push(basic);
      continue;
    }
    const ext = GSM7_EXTENSION.get(ch);
    if (ext === undefined) throw new RangeError(`character U+${hex(ch)} is not in the GSM 03.38 alphabet`);
    out.push(GSM7_ESCAPE, ext);
  }
  return Buffer.from(out);
}

/** Inverse of encodeGsm7; an unknown extension septet decodes as a space, as 03.38 recommends. */
export function decodeGsm7(septets: Uint8Array): string {
  let text = '';
  for (let i = 0; i < septets.length; i++) {
    const s = septets[i]! & 0x7f;
    if (s === GSM7_ESCAPE) {
      const next = septets[++i];
      text += next === undefined ? '' : (GSM7_EXTENSION_DECODE.get(next & 0x7f) ?? ' ');
    } else {
      text += GSM7_BASIC[s] ?? ' ';
    }
  }
  return text;
}

export function encodeUcs2(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

export function decodeUcs2(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
  return text;
}

/** Length in encoding units (septets, or UTF-16 code units). */
export function encodedLength(text: string, encoding: SmsEncoding = chooseEncoding(text)): number {
  if (encoding === 'ucs2') return text.length;
  let n = 0;
  for (const ch of text) {
    const w = gsm7Width(ch);
    if (w === undefined) throw new RangeError(`character U+${hex(ch)} is not in the GSM 03.38 alphabet`);
    n += w;
  }
  return n;
}

/**
 * Splits text into the per-segment texts, never cutting a character in two: a GSM-7 escape pair and a
 * UTF-16 surrogate pair are one unit of splitting (iterating by code point gives both for free).
 */
export function splitText(text: string, encoding: SmsEncoding = chooseEncoding(text)): string[] {
  const limits = SEGMENT_LIMITS[encoding];
  if (encodedLength(text, encoding) <= limits.single) return [text];
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const ch of text) {
    const w = encoding === 'ucs2' ? ch.length : gsm7Width(ch)!;
    if (used + w > limits.multipart) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += ch;
    used += w;
  }
  if (current !== '' || parts.length === 0) parts.push(current);
  return parts;
}

/** Number of SMS segments the text is billed and sent as. */
export function countSegments(text: string): number {
  return splitText(text).length;
}

export interface EncodedSegment {
  /** This part's text (for logs and tests). */
  text: string;
  /** User data header, or undefined for a single-part message. */
  udh: Buffer | undefined;
  /** Encoded text without the UDH. */
  payload: Buffer;
  /** UDH followed by payload: the SMPP short_message. */
  userData: Buffer;
}

export interface EncodedMessage {
  encoding: SmsEncoding;
  dataCoding: number;
  segments: EncodedSegment[];
}

/**
 * UDH for part `seq` (1-based) of `total`: IE 0x00 (concatenated SMS, 8-bit reference), length 3.
 * The 8-bit reference keeps the header at 6 octets, which is what the 153/67 limits assume.
 */
export function concatUdh(reference: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, seq]);
}

export interface ParsedConcat {
  reference: number;
  total: number;
  seq: number;
}

/** Reads the concatenation IE (0x00 or 0x08) from user data that starts with a UDH. */
export function parseConcatUdh(userData: Uint8Array): ParsedConcat | undefined {
  const udhl = userData[0];
  if (udhl === undefined) return undefined;
  let i = 1;
  while (i + 1 < 1 + udhl) {
    const iei = userData[i]!;
    const len = userData[i + 1]!;
    const d = userData.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3) return { reference: d[0]!, total: d[1]!, seq: d[2]! };
    if (iei === 0x08 && len === 4) return { reference: (d[0]! << 8) | d[1]!, total: d[2]!, seq: d[3]! };
    i += 2 + len;
  }
  return undefined;
}

/** Encodes text for SMPP submit_sm: picks the alphabet, splits, and adds a UDH when there are parts. */
export function encodeMessage(text: string, reference = 0): EncodedMessage {
  const encoding = chooseEncoding(text);
  const parts = splitText(text, encoding);
  if (parts.length > MAX_SEGMENTS)
    throw new RangeError(`message needs ${parts.length} segments; at most ${MAX_SEGMENTS} are possible`);
  const encode = encoding === 'gsm7' ? encodeGsm7 : encodeUcs2;
  const segments = parts.map((part, i): EncodedSegment => {
    const payload = encode(part);
    const udh = parts.length > 1 ? concatUdh(reference, parts.length, i + 1) : undefined;
    return { text: part, udh, payload, userData: udh ? Buffer.concat([udh, payload]) : payload };
  });
  return { encoding, dataCoding: DATA_CODING[encoding], segments };
}

function hex(ch: string): string {
  return (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}
