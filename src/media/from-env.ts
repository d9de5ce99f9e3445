/** Builds the media service from the environment (README, "Configuration"). */
import { createMediaService, type RingcastMediaService } from './service.ts';
import type { UploadLimits } from './types.ts';

/** `uploads` comes from the one validated configuration (src/config.ts, UPLOAD_*). */
export function mediaFromEnv(
  env: Record<string, string | undefined>,
  uploads?: UploadLimits,
): RingcastMediaService {
  const tts = env.TTS_ENGINE === 'google' ? 'google' : 'espeak';
  return createMediaService({
    tts,
    ...(env.GOOGLE_TTS_API_KEY ? { googleApiKey: env.GOOGLE_TTS_API_KEY } : {}),
    cacheDir: env.TTS_CACHE_DIR ?? './data/tts-cache',
    preferSystemBinaries: env.MEDIA_SYSTEM_BINARIES !== '0',
    ...(uploads ? { uploads } : {}),
  });
}
