/**
 * Google Cloud Text-to-Speech (REST v1 `text:synthesize`), optional. Requests 8 kHz LINEAR16 so no
 * resampling is needed; our lan/accent/gender/rate map to languageCode/ssmlGender/speakingRate.
 */
import { decodePcmWav } from './decode.ts';
import type { TtsEngine } from './espeak.ts';
import { accentRow, type ResolvedVoice } from './languages.ts';
import { MediaInputError } from './types.ts';

export const GOOGLE_TTS_BASE_URL = 'https://texttospeech.googleapis.com';
const REQUEST_TIMEOUT_MS = 15_000;

export interface GoogleTtsOptions {
  apiKey: string;
  /** Overridable for tests (a local recorded-response server) and proxies. */
  baseUrl?: string;
}

export function googleRequestBody(text: string, voice: ResolvedVoice): Record<string, unknown> {
  return {
    input: { text },
    voice: { languageCode: accentRow(voice).google, ssmlGender: voice.gender === 1 ? 'MALE' : 'FEMALE' },
    audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 8000, speakingRate: voice.speakingRate },
  };
}

export class GoogleTts implements TtsEngine {
  readonly id = 'google';
  readonly cacheTag = 'google-v1';
  readonly name = 'Google Cloud Text-to-Speech';
  private readonly baseUrl: string;

  constructor(private readonly options: GoogleTtsOptions) {
    this.baseUrl = (options.baseUrl ?? GOOGLE_TTS_BASE_URL).replace(/\/+$/, '');
  }

  async synthesize(text: string, voice: ResolvedVoice): Promise<Int16Array> {
    const response = await fetch(`${this.baseUrl}/v1/text:synthesize`, {
      method: 'POST',
      // The key travels in a header rather than the query string so it never lands in access logs.
      headers: { 'content-type': 'application/json', 'x-goog-api-key': this.options.apiKey },
      body: JSON.stringify(googleRequestBody(text, voice)),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => ({}))) as {
      audioContent?: unknown;
      error?: { message?: unknown };
    };
    if (!response.ok) {
      const message = typeof body.error?.message === 'string' ? body.error.message : response.statusText;
      // 400 is the client's text/voice (e.g. unsupported voice); everything else is ours or Google's.
      if (response.status === 400)
        throw new MediaInputError('text', `Google TTS refused the request: ${message}`);
      throw new Error(`Google TTS failed with HTTP ${response.status}: ${message}`);
    }
    if (typeof body.audioContent !== 'string') throw new Error('Google TTS response has no audioContent');
    // LINEAR16 audioContent is a complete WAV file (header included).
    return decodePcmWav(Buffer.from(body.audioContent, 'base64'), false);
  }

  async close(): Promise<void> {}
}
