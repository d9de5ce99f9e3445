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

/**
 * Uploads are refused, not queued without end, when the service is busy: thrown when the account's or the
 * service's upload queue is full or a queued upload waited too long. Mapped to API code -23.
 */
export class MediaBusyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'MediaBusyError';
  }
}

/** Bounds on upload conversion (README, "Uploads"); one set, from configuration. */
export interface UploadLimits {
  /** Largest upload, in bytes after base64 decoding. */
  maxBytes: number;
  /** Longest recording; decoding stops as soon as it is passed. */
  maxDurationMs: number;
  /** Conversions running at once in this process. */
  concurrency: number;
  /** Conversions of one account running at once. */
  perAccount: number;
  /** Conversions waiting for a turn, across accounts (one account may hold at most a quarter, ≥ 1). */
  queueSize: number;
  /** How long a conversion may wait for its turn. */
  queueWaitMs: number;
  /** How long one conversion may work, counted from its start (not from when it was queued). */
  workTimeoutMs: number;
}

export const defaultUploadLimits: UploadLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxDurationMs: 10 * 60 * 1000,
  concurrency: 2,
  perAccount: 1,
  queueSize: 32,
  queueWaitMs: 30_000,
  workTimeoutMs: 30_000,
};

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
  /**
   * Decodes an upload (base64 already decoded) and converts it once to telephone audio. `owner` (the
   * account) gets its fair share of the converters: its own concurrency and queue bound.
   */
  convertUpload(data: Buffer, fileName: string, owner?: string): Promise<ConvertedUpload>;
  /** The bounds uploads are held to. */
  readonly uploadLimits: UploadLimits;
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
