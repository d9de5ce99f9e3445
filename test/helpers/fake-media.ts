// Temporary stand-in for unit tests of engine logic; replaced by the real media service.
import { MediaInputError, type MediaService } from '../../src/media/types.ts';

export function fakeMedia(durationMs = 3000): MediaService {
  const audio = (key: string) => ({ key, sampleRate: 8000 as const, samples: new Int16Array(8), durationMs });
  return {
    async convertUpload(data) {
      if (data.length < 4) throw new MediaInputError('file', 'not audio');
      return { stored: data, durationMs, format: 'wav' };
    },
    async loadStored(key) {
      return audio(key);
    },
    async renderTts(request) {
      return audio(request.text);
    },
    languages: () => [],
    resolveVoice(request) {
      if (!request.lan) throw new MediaInputError('lan', 'required');
      return {
        lan: request.lan,
        accent: request.accent ?? 1,
        gender: request.gender ?? 2,
        speakingRate: request.speakingRate ?? 1,
      };
    },
    describe: () => 'fake',
    async close() {},
  };
}
