/** Builds the media service from the environment (README, "Configuration"). */
import { createMediaService } from './service.ts';
import type { MediaService } from './types.ts';

export function mediaFromEnv(env: Record<string, string | undefined>): MediaService {
  const tts = env.TTS_ENGINE === 'google' ? 'google' : 'espeak';
  return createMediaService({
    tts,
    ...(env.GOOGLE_TTS_API_KEY ? { googleApiKey: env.GOOGLE_TTS_API_KEY } : {}),
    ...(env.TTS_CACHE_DIR ? { cacheDir: env.TTS_CACHE_DIR } : {}),
    preferSystemBinaries: env.MEDIA_SYSTEM_BINARIES !== '0',
  });
}
