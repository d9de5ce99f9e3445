import { describe, expect, it } from 'vitest';
import { WasmEspeak } from '../../src/media/espeak.ts';
import { resolveVoice } from '../../src/media/languages.ts';

// The warm engine reuses one instance by restoring a memory snapshot before each main() call.
describe('WebAssembly eSpeak state reset', () => {
  it('renders identically whatever ran before, and matches a fresh instance', async () => {
    const warm = new WasmEspeak();
    const text = 'Your code is four five six.';
    const voice = resolveVoice({ lan: 'EN', accent: 44, gender: 1, speakingRate: 1.3 });
    const first = await warm.synthesize(text, voice);
    await warm.synthesize('Guten Morgen, das ist eine ganz andere Stimme.', resolveVoice({ lan: 'DE' }));
    await expect(
      warm.synthesize('x', { ...resolveVoice({ lan: 'EN' }), accent: 12345 } as ReturnType<
        typeof resolveVoice
      >),
    ).resolves.toBeInstanceOf(Int16Array); // unknown accent falls back to the default voice row
    const again = await warm.synthesize(text, voice);
    expect(again).toEqual(first);
    const fresh = await new WasmEspeak().synthesize(text, voice);
    expect(fresh).toEqual(first);
  });
});
