/**
 * What the rest of Ringcast needs from the media layer. Implementations live beside this file.
 */
import type { PreparedAudio } from '../telephony/driver.ts';

export type { PreparedAudio };

/** Thrown for input the caller got wrong (corrupt audio, unknown language): mapped to API code -22. */
export class MediaInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'MediaInputError';
  }
}

export interface ConvertedUpload {
  /** The stored telephone form: a WAV file, 8 kHz mono (G.711 u-law or PCM16, implementation's choice). */
  stored: Buffer;
  durationMs: number;
  /** Detected input format. */
  format: 'mp3' | 'wav' | 'm4a';
}

export interface TtsRequest {
  /** Already personalised text (placeholders filled). */
  text: string;
  /** A `lan` code or legacy alias from the spec (§2, §7). */
  lan: string;
  /** Accent id (country calling code); undefined = the language's default. */
  accent?: number;
  /** 1 male, 2 female; undefined = female where both exist. */
  gender?: 1 | 2;
  /** 0.25-4.0, 1 = normal. */
  speakingRate?: number;
}

export interface AccentInfo {
  id: number;
  name: string;
  default: boolean;
}

export interface LanguageInfo {
  lan: string;
  name: string;
  aliases: string[];
  accents: AccentInfo[];
  genders: Array<1 | 2>;
  /** Engine limitation worth telling the client (stand-in voice, script not read); absent when none. */
  note?: string;
}

export interface MediaService {
  /** Decodes an upload (base64 already decoded) and converts it once to telephone audio. */
  convertUpload(data: Buffer, fileName: string): Promise<ConvertedUpload>;
  /** Turns stored telephone audio back into playable PCM (cached by the caller's key). */
  loadStored(key: string, stored: Buffer): Promise<PreparedAudio>;
  /** Renders text-to-speech; identical requests are served from a cache. */
  renderTts(request: TtsRequest): Promise<PreparedAudio>;
  /** The language table served at /voice/tts/languages. */
  languages(): LanguageInfo[];
  /**
   * Validates and normalises lan/accent/gender (aliases resolved, defaults applied).
   * Throws MediaInputError naming the field and rule.
   */
  resolveVoice(request: Omit<TtsRequest, 'text'>): Required<Omit<TtsRequest, 'text'>>;
  /** Which engines are in use, for the README and start-up log (e.g. 'espeak-ng (system)', 'ffmpeg'). */
  describe(): string;
  close(): Promise<void>;
}
