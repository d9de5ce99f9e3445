import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseEncoding,
  countSegments,
  DATA_CODING,
  decodeGsm7,
  decodeUcs2,
  encodedLength,
  encodeGsm7,
  encodeMessage,
  parseConcatUdh,
  splitText,
} from '../../src/sms/encoding.ts';

describe('alphabet choice', () => {
  it('plain ASCII letters, digits and GSM punctuation use GSM-7', () => {
    expect(chooseEncoding('Hello, world! 123 @£$¥ ÄÖÑÜ§¿ äöñüà')).toBe('gsm7');
  });

  it('extension-table characters still use GSM-7', () => {
    expect(chooseEncoding('{}[]~|^\\€\f')).toBe('gsm7');
  });

  it('any character outside GSM 03.38 switches the whole message to UCS-2', () => {
    expect(chooseEncoding('Grüße 👋 你好')).toBe('ucs2');
    expect(chooseEncoding('price: 5 ₽')).toBe('ucs2');
    // ç is not in the default alphabet (only Ç is), so it must not be silently changed.
    expect(chooseEncoding('ça va')).toBe('ucs2');
  });

  it('a literal ESC character is not GSM-7 text', () => {
    expect(chooseEncoding('a\x1bb')).toBe('ucs2');
  });

  it('data_coding is 0x00 for GSM-7 and 0x08 for UCS-2', () => {
    expect(encodeMessage('hi').dataCoding).toBe(DATA_CODING.gsm7);
    expect(encodeMessage('hi').dataCoding).toBe(0x00);
    expect(encodeMessage('你好').dataCoding).toBe(0x08);
  });
});

describe('GSM-7 code points', () => {
  it('extension characters are escape + septet and count double', () => {
    expect([...encodeGsm7('€')]).toEqual([0x1b, 0x65]);
    expect([...encodeGsm7('{a}')]).toEqual([0x1b, 0x28, 0x61, 0x1b, 0x29]);
    expect(encodedLength('€€€')).toBe(6);
  });

  it('default alphabet maps @ to 0x00 and £ to 0x01, one octet per septet (unpacked)', () => {
    expect([...encodeGsm7('@£A')]).toEqual([0x00, 0x01, 0x41]);
  });

  it('GSM-7 encode then decode gives the same text', () => {
    const text = 'Grüße? No: Gruesse! {x} [y] ~z | ^ \\ € @£$¥ ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ÅåØø\n\r';
    expect(decodeGsm7(encodeGsm7(text))).toBe(text);
  });

  it('GSM-7 round-trips for any GSM-7 string (property)', () => {
    const gsmChar = fc.constantFrom(
      ...'@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà{}[]~|^\\€',
    );
    fc.assert(
      fc.property(fc.array(gsmChar, { maxLength: 400 }), (chars) => {
        const text = chars.join('');
        const enc = encodeMessage(text);
        expect(enc.encoding).toBe('gsm7');
        expect(enc.segments.map((s) => decodeGsm7(s.payload)).join('')).toBe(text);
      }),
    );
  });
});

describe('segment limits', () => {
  it('GSM-7: 160 septets fit one segment, 161 need two', () => {
    expect(countSegments('a'.repeat(160))).toBe(1);
    expect(countSegments('a'.repeat(161))).toBe(2);
  });

  it('GSM-7: concatenated parts hold 153 septets each', () => {
    expect(countSegments('a'.repeat(306))).toBe(2);
    expect(countSegments('a'.repeat(307))).toBe(3);
    expect(splitText('a'.repeat(307)).map((p) => p.length)).toEqual([153, 153, 1]);
  });

  it('GSM-7: escape characters count double toward the limit', () => {
    expect(countSegments('€'.repeat(80))).toBe(1);
    expect(countSegments('€'.repeat(80) + 'a')).toBe(2);
  });

  it('GSM-7: an escape pair is never split across parts', () => {
    // 152 letters then '€' (2 septets) would straddle the 153 boundary, so '€' moves to part 2.
    const parts = splitText('a'.repeat(152) + '€' + 'b'.repeat(10));
    expect(parts[0]).toBe('a'.repeat(152));
    expect(parts[1]).toBe('€' + 'b'.repeat(10));
    for (const seg of encodeMessage('a'.repeat(152) + '€' + 'b'.repeat(10)).segments) {
      expect(seg.payload.length).toBeLessThanOrEqual(153);
      expect(seg.payload.at(-1)).not.toBe(0x1b);
    }
  });

  it('UCS-2: 70 code units fit one segment, 71 need two, parts hold 67', () => {
    expect(countSegments('你'.repeat(70))).toBe(1);
    expect(countSegments('你'.repeat(71))).toBe(2);
    expect(countSegments('你'.repeat(134))).toBe(2);
    expect(countSegments('你'.repeat(135))).toBe(3);
  });

  it('UCS-2: an emoji counts as two code units', () => {
    expect(countSegments('👋'.repeat(35))).toBe(1);
    expect(countSegments('👋'.repeat(36))).toBe(2);
  });

  it('UCS-2: a surrogate pair is never split across parts', () => {
    const text = 'x' + '👋'.repeat(40); // 81 units; 'x' + 33 emoji = 67 units, the next pair would cross
    const parts = splitText(text);
    expect(parts.length).toBe(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(67);
      expect(/^[\uDC00-\uDFFF]/.test(part)).toBe(false);
      expect(/[\uD800-\uDBFF]$/.test(part)).toBe(false);
    }
    expect(parts.join('')).toBe(text);
  });

  it('CJK and emoji long text re-assembles from UCS-2 parts (property)', () => {
    const ch = fc.constantFrom('你', '好', '👋', '😀', 'ü', 'a', ' ', '€');
    fc.assert(
      fc.property(fc.array(ch, { minLength: 1, maxLength: 300 }), (chars) => {
        const text = chars.join('') + '你';
        const enc = encodeMessage(text, 7);
        expect(enc.encoding).toBe('ucs2');
        const limit = enc.segments.length > 1 ? 67 : 70;
        for (const s of enc.segments) expect(s.payload.length / 2).toBeLessThanOrEqual(limit);
        expect(enc.segments.map((s) => decodeUcs2(s.payload)).join('')).toBe(text);
        expect(enc.segments.length).toBe(countSegments(text));
      }),
    );
  });

  it('an empty text is one empty segment', () => {
    expect(countSegments('')).toBe(1);
    expect(encodeMessage('').segments[0]!.payload.length).toBe(0);
  });
});

describe('concatenation UDH', () => {
  it('single-part messages carry no UDH', () => {
    const seg = encodeMessage('hello').segments[0]!;
    expect(seg.udh).toBeUndefined();
    expect(seg.userData).toEqual(seg.payload);
  });

  it('multipart messages carry IE 0x00 with an 8-bit reference, total and 1-based sequence', () => {
    const enc = encodeMessage('a'.repeat(400), 0x1a2);
    expect(enc.segments.length).toBe(3);
    enc.segments.forEach((seg, i) => {
      expect([...seg.udh!]).toEqual([0x05, 0x00, 0x03, 0xa2, 3, i + 1]);
      expect(parseConcatUdh(seg.userData)).toEqual({ reference: 0xa2, total: 3, seq: i + 1 });
      expect(seg.userData.subarray(6)).toEqual(seg.payload);
    });
  });
});
