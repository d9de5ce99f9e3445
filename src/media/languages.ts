/**
 * The TTS language table (spec §7) and the mapping of (lan, accent, gender, rate) to engine voices.
 * One table feeds `languages()`, validation, eSpeak voice names and Google language codes, so they
 * cannot drift apart.
 */
import { type LanguageInfo, MediaInputError, type TtsRequest } from './types.ts';

export interface AccentRow {
  id: number;
  name: string;
  /** eSpeak NG voice name (present in both Debian 1.51 and the npm 1.52-dev build). */
  espeak: string;
  /** Google Cloud TTS languageCode. */
  google: string;
  /** Set when eSpeak has no voice for this accent and a stand-in is used. */
  espeakNote?: string;
}

export interface LanguageRow {
  lan: string;
  name: string;
  aliases: string[];
  /** First row is the default accent. */
  accents: AccentRow[];
  espeakNote?: string;
}

const one = (id: number, name: string, espeak: string, google: string, espeakNote?: string): AccentRow =>
  espeakNote ? { id, name, espeak, google, espeakNote } : { id, name, espeak, google };

export const LANGUAGE_TABLE: LanguageRow[] = [
  { lan: 'AR', name: 'Arabic', aliases: ['ARB'], accents: [one(966, 'Arabic', 'ar', 'ar-XA')] },
  {
    lan: 'EN',
    name: 'English',
    aliases: [],
    accents: [
      one(1, 'United States', 'en-us', 'en-US'),
      one(44, 'United Kingdom', 'en-gb', 'en-GB'),
      one(91, 'India', 'en-gb-x-rp', 'en-IN', 'eSpeak has no Indian English voice: British RP is used'),
      one(
        61,
        'Australia',
        'en-gb-x-gbclan',
        'en-AU',
        'eSpeak has no Australian voice: the Lancaster voice is used',
      ),
    ],
  },
  {
    lan: 'ES',
    name: 'Spanish',
    aliases: [],
    accents: [one(34, 'Spain', 'es', 'es-ES'), one(52, 'Mexico (Latin America)', 'es-419', 'es-US')],
  },
  {
    lan: 'PT',
    name: 'Portuguese',
    aliases: [],
    accents: [one(55, 'Brazil', 'pt-br', 'pt-BR'), one(351, 'Portugal', 'pt', 'pt-PT')],
  },
  {
    lan: 'FR',
    name: 'French',
    aliases: [],
    accents: [
      one(33, 'France', 'fr-fr', 'fr-FR'),
      one(32, 'Belgium', 'fr-be', 'fr-FR', 'Google has no Belgian French: fr-FR is used'),
      one(1, 'Canada', 'fr-fr', 'fr-CA', 'eSpeak has no Canadian French voice: France is used'),
    ],
  },
  { lan: 'DE', name: 'German', aliases: [], accents: [one(49, 'Germany', 'de', 'de-DE')] },
  { lan: 'IT', name: 'Italian', aliases: [], accents: [one(39, 'Italy', 'it', 'it-IT')] },
  {
    lan: 'NL',
    name: 'Dutch',
    aliases: [],
    accents: [
      one(31, 'Netherlands', 'nl', 'nl-NL'),
      one(32, 'Belgium', 'nl', 'nl-BE', 'eSpeak has no Flemish voice: the Dutch voice is used'),
    ],
  },
  { lan: 'RU', name: 'Russian', aliases: [], accents: [one(7, 'Russia', 'ru', 'ru-RU')] },
  { lan: 'HI', name: 'Hindi', aliases: ['IN'], accents: [one(91, 'India', 'hi', 'hi-IN')] },
  { lan: 'BN', name: 'Bengali', aliases: ['BD'], accents: [one(91, 'India', 'bn', 'bn-IN')] },
  { lan: 'TA', name: 'Tamil', aliases: [], accents: [one(91, 'India', 'ta', 'ta-IN')] },
  { lan: 'TE', name: 'Telugu', aliases: [], accents: [one(91, 'India', 'te', 'te-IN')] },
  { lan: 'MR', name: 'Marathi', aliases: [], accents: [one(91, 'India', 'mr', 'mr-IN')] },
  { lan: 'GU', name: 'Gujarati', aliases: [], accents: [one(91, 'India', 'gu', 'gu-IN')] },
  { lan: 'KN', name: 'Kannada', aliases: [], accents: [one(91, 'India', 'kn', 'kn-IN')] },
  { lan: 'ML', name: 'Malayalam', aliases: [], accents: [one(91, 'India', 'ml', 'ml-IN')] },
  { lan: 'PA', name: 'Punjabi', aliases: [], accents: [one(91, 'India', 'pa', 'pa-IN')] },
  { lan: 'ID', name: 'Indonesian', aliases: ['IDN'], accents: [one(62, 'Indonesia', 'id', 'id-ID')] },
  { lan: 'VI', name: 'Vietnamese', aliases: ['VN'], accents: [one(84, 'Vietnam', 'vi', 'vi-VN')] },
  { lan: 'TH', name: 'Thai', aliases: [], accents: [one(66, 'Thailand', 'th', 'th-TH')] },
  {
    lan: 'ZH',
    name: 'Chinese (Mandarin)',
    aliases: [],
    // Debian's 1.51 `cmn` voice reads tone digits aloud; cmn-latn-pinyin reads Hanzi the same and pinyin properly.
    accents: [one(86, 'China', 'cmn-latn-pinyin', 'cmn-CN')],
  },
  {
    lan: 'JA',
    name: 'Japanese',
    aliases: ['JP'],
    accents: [one(81, 'Japan', 'ja', 'ja-JP')],
    espeakNote: 'eSpeak reads kana only: kanji are spelled out or skipped; write prompts in kana',
  },
  { lan: 'KO', name: 'Korean', aliases: ['KR'], accents: [one(82, 'Korea', 'ko', 'ko-KR')] },
  {
    lan: 'TL',
    name: 'Tagalog (Filipino)',
    aliases: ['FIL'],
    // Tagalog spelling is close to phonemic and shares its letter values with Indonesian, so the
    // Indonesian voice reads it intelligibly (with an Indonesian accent) rather than refusing the task.
    accents: [one(63, 'Philippines', 'id', 'fil-PH')],
    espeakNote:
      'eSpeak has no Tagalog voice: the Indonesian voice reads it; use the Google engine for native speech',
  },
];

const BY_CODE = new Map<string, LanguageRow>();
for (const row of LANGUAGE_TABLE) {
  BY_CODE.set(row.lan, row);
  for (const alias of row.aliases) BY_CODE.set(alias, row);
}
/** Spec §2 legacy codes; those equal to a §7 code (EN, ES…) need no alias entry. */
export const LEGACY_CODES = [
  'EN',
  'ES',
  'PT',
  'IDN',
  'VN',
  'TH',
  'JP',
  'KR',
  'ARB',
  'IN',
  'BD',
  'DE',
  'IT',
  'RU',
];

export const MIN_RATE = 0.25;
export const MAX_RATE = 4;

export function findLanguage(lan: string): LanguageRow | undefined {
  return BY_CODE.get(lan.trim().toUpperCase());
}

export type ResolvedVoice = Required<Omit<TtsRequest, 'text'>>;

export function resolveVoice(request: Omit<TtsRequest, 'text'>): ResolvedVoice {
  if (typeof request.lan !== 'string' || request.lan.trim() === '')
    throw new MediaInputError('lan', 'lan is required for text-to-speech (see /voice/tts/languages)');
  const row = findLanguage(request.lan);
  if (!row)
    throw new MediaInputError(
      'lan',
      `lan '${request.lan}' is not supported; use one of ${LANGUAGE_TABLE.map((r) => r.lan).join(', ')} or a legacy alias`,
    );
  let accent = row.accents[0]!;
  if (request.accent !== undefined && request.accent !== null) {
    const found = row.accents.find((a) => a.id === request.accent);
    if (!found)
      throw new MediaInputError(
        'accent',
        `accent ${String(request.accent)} is not available for ${row.lan}; use one of ${row.accents.map((a) => a.id).join(', ')}`,
      );
    accent = found;
  }
  const gender = request.gender ?? 2;
  if (gender !== 1 && gender !== 2)
    throw new MediaInputError('ssmlGender', 'ssmlGender must be 1 (male) or 2 (female)');
  const rate = request.speakingRate ?? 1;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < MIN_RATE || rate > MAX_RATE)
    throw new MediaInputError('speakingRate', `speakingRate must be between ${MIN_RATE} and ${MAX_RATE}`);
  return { lan: row.lan, accent: accent.id, gender, speakingRate: rate };
}

export function accentRow(voice: ResolvedVoice): AccentRow {
  const row = findLanguage(voice.lan)!;
  return row.accents.find((a) => a.id === voice.accent) ?? row.accents[0]!;
}

export function languageInfos(engine: 'espeak' | 'google'): LanguageInfo[] {
  return LANGUAGE_TABLE.map((row) => {
    const info: LanguageInfo = {
      lan: row.lan,
      name: row.name,
      aliases: [...row.aliases],
      accents: row.accents.map((a, i) => ({ id: a.id, name: a.name, default: i === 0 })),
      genders: [1, 2],
    };
    const notes = engine === 'espeak' ? [row.espeakNote, ...row.accents.map((a) => a.espeakNote)] : [];
    const note = [...new Set(notes.filter((n): n is string => Boolean(n)))].join('; ');
    return note ? { ...info, note } : info;
  });
}
