import { describe, expect, it } from 'vitest';
import { espeakArgs } from '../../src/media/espeak.ts';
import { resolveVoice } from '../../src/media/languages.ts';
import { createMediaService } from '../../src/media/service.ts';
import { MediaInputError } from '../../src/media/types.ts';

const SPEC_CODES = [
  'AR',
  'EN',
  'ES',
  'PT',
  'FR',
  'DE',
  'IT',
  'NL',
  'RU',
  'HI',
  'BN',
  'TA',
  'TE',
  'MR',
  'GU',
  'KN',
  'ML',
  'PA',
  'ID',
  'VI',
  'TH',
  'ZH',
  'JA',
  'KO',
  'TL',
];
const LEGACY: Record<string, string> = {
  EN: 'EN',
  ES: 'ES',
  PT: 'PT',
  IDN: 'ID',
  VN: 'VI',
  TH: 'TH',
  JP: 'JA',
  KR: 'KO',
  ARB: 'AR',
  IN: 'HI',
  BD: 'BN',
  DE: 'DE',
  IT: 'IT',
  RU: 'RU',
};

function inputError(fn: () => unknown): MediaInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MediaInputError) return error;
    throw error;
  }
  throw new Error('expected a MediaInputError');
}

describe('language table and voice resolution', () => {
  const media = createMediaService({ warmUp: false, preferSystemBinaries: false });

  it('lists every §7 language with its accents, genders and default accent', () => {
    const table = media.languages();
    expect(table.map((l) => l.lan).sort()).toEqual([...SPEC_CODES].sort());
    const en = table.find((l) => l.lan === 'EN')!;
    expect(en.accents.map((a) => a.id)).toEqual([1, 44, 91, 61]);
    expect(en.accents.filter((a) => a.default).map((a) => a.id)).toEqual([1]);
    expect(table.find((l) => l.lan === 'ES')!.accents.map((a) => a.id)).toEqual([34, 52]);
    expect(table.find((l) => l.lan === 'PT')!.accents.map((a) => a.id)).toEqual([55, 351]);
    expect(table.find((l) => l.lan === 'NL')!.accents.map((a) => a.id)).toEqual([31, 32]);
    for (const code of ['HI', 'BN', 'TA', 'TE', 'MR', 'GU', 'KN', 'ML', 'PA'])
      expect(table.find((l) => l.lan === code)!.accents.map((a) => a.id)).toEqual([91]);
    for (const [code, accent] of [
      ['ID', 62],
      ['VI', 84],
      ['TH', 66],
      ['ZH', 86],
      ['JA', 81],
      ['KO', 82],
      ['TL', 63],
    ] as const)
      expect(table.find((l) => l.lan === code)!.accents[0]!.id).toBe(accent);
    for (const row of table) expect(row.genders).toEqual([1, 2]);
    expect(table.find((l) => l.lan === 'TL')!.note).toMatch(/no Tagalog voice/);
    expect(table.find((l) => l.lan === 'JA')!.note).toMatch(/kanji/);
  });

  it('resolves legacy aliases case-insensitively and applies defaults', () => {
    for (const [alias, code] of Object.entries(LEGACY)) expect(resolveVoice({ lan: alias }).lan).toBe(code);
    expect(resolveVoice({ lan: 'en' })).toEqual({ lan: 'EN', accent: 1, gender: 2, speakingRate: 1 });
    expect(resolveVoice({ lan: 'NL' }).accent).toBe(31);
    expect(resolveVoice({ lan: 'PT', accent: 351, gender: 1, speakingRate: 0.25 })).toEqual({
      lan: 'PT',
      accent: 351,
      gender: 1,
      speakingRate: 0.25,
    });
  });

  it('names the field and rule of every invalid voice', () => {
    expect(inputError(() => resolveVoice({ lan: 'XX' })).field).toBe('lan');
    expect(inputError(() => resolveVoice({ lan: '' })).message).toMatch(/required/);
    const accent = inputError(() => resolveVoice({ lan: 'DE', accent: 44 }));
    expect(accent.field).toBe('accent');
    expect(accent.message).toMatch(/use one of 49/);
    expect(inputError(() => resolveVoice({ lan: 'EN', gender: 3 as 1 })).field).toBe('ssmlGender');
    expect(inputError(() => resolveVoice({ lan: 'EN', speakingRate: 4.01 })).field).toBe('speakingRate');
    expect(inputError(() => resolveVoice({ lan: 'EN', speakingRate: 0.2 })).message).toMatch(/0.25 and 4/);
    expect(inputError(() => resolveVoice({ lan: 'EN', speakingRate: Number.NaN })).field).toBe(
      'speakingRate',
    );
  });

  it('maps voices to eSpeak names, variants and clamped speeds', () => {
    expect(espeakArgs(resolveVoice({ lan: 'EN', accent: 44, gender: 1 }))).toEqual([
      '-v',
      'en-gb+m3',
      '-s',
      '175',
      '-b',
      '1',
    ]);
    expect(espeakArgs(resolveVoice({ lan: 'ZH' }))).toContain('cmn-latn-pinyin+f3');
    expect(espeakArgs(resolveVoice({ lan: 'EN', speakingRate: 0.25 }))).toContain('80');
    expect(espeakArgs(resolveVoice({ lan: 'EN', speakingRate: 4 }))).toContain('450');
    expect(espeakArgs(resolveVoice({ lan: 'TL' }))[1]).toBe('id+f3');
  });
});
