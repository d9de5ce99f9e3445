/** Builds the media service from the environment (README, "Configuration"). */
import { createMediaService, type RingcastMediaService } from './service.ts';

export function mediaFromEnv(env: Record<string, string | undefined>): RingcastMediaService {
  const tts = env.TTS_ENGINE === 'google' ? 'google' : 'espeak';
  return createMediaService({
    tts,
    ...(env.GOOGLE_TTS_API_KEY ? { googleApiKey: env.GOOGLE_TTS_API_KEY } : {}),
    cacheDir: env.TTS_CACHE_DIR ?? './data/tts-cache',
    preferSystemBinaries: env.MEDIA_SYSTEM_BINARIES !== '0',
  });
}
