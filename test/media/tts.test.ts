import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { espeakWpm } from '../../src/media/espeak.ts';
import { createMediaService, type RingcastMediaService } from '../../src/media/service.ts';
import { MediaInputError, type TtsRequest } from '../../src/media/types.ts';
import { hasTool } from '../helpers/tools.ts';
import { medianF0, relativeDifference } from './measure.ts';

const SENTENCE = 'Hello, this is a reminder about your appointment tomorrow morning.';
const LONG = `${SENTENCE} Please call us back if you cannot attend. ${SENTENCE} Thank you and have a nice day.`;

/** A greeting per language, in its own script, so every voice reads real text. */
const SAMPLES: Record<string, string> = {
  AR: 'مرحبا بكم في خدمتنا',
  EN: 'Good morning, this is your reminder.',
  ES: 'Buenos días, este es su recordatorio.',
  PT: 'Bom dia, este é o seu lembrete.',
  FR: 'Bonjour, ceci est votre rappel.',
  DE: 'Guten Morgen, das ist Ihre Erinnerung.',
  IT: 'Buongiorno, questo è il suo promemoria.',
  NL: 'Goedemorgen, dit is uw herinnering.',
  RU: 'Доброе утро, это ваше напоминание.',
  HI: 'नमस्ते, यह आपका अनुस्मारक है।',
  BN: 'নমস্কার, এটি আপনার অনুস্মারক।',
  TA: 'வணக்கம், இது உங்கள் நினைவூட்டல்.',
  TE: 'నమస్కారం, ఇది మీ రిమైండర్.',
  MR: 'नमस्कार, हे तुमचे स्मरणपत्र आहे.',
  GU: 'નમસ્તે, આ તમારું રીમાઇન્ડર છે.',
  KN: 'ನಮಸ್ಕಾರ, ಇದು ನಿಮ್ಮ ಜ್ಞಾಪನೆ.',
  ML: 'നമസ്കാരം, ഇത് നിങ്ങളുടെ ഓർമ്മപ്പെടുത്തലാണ്.',
  PA: 'ਸਤ ਸ੍ਰੀ ਅਕਾਲ, ਇਹ ਤੁਹਾਡੀ ਯਾਦ ਹੈ।',
  ID: 'Selamat pagi, ini pengingat Anda.',
  VI: 'Xin chào, đây là lời nhắc của bạn.',
  TH: 'สวัสดีครับ นี่คือการแจ้งเตือนของคุณ',
  ZH: '你好，这是您的提醒。',
  JA: 'こんにちは、これはおしらせです。',
  KO: '안녕하세요, 알림입니다.',
  TL: 'Magandang umaga, ito ang iyong paalala.',
};

const modes: Array<{
  name: string;
  preferSystemBinaries: boolean;
  ttsThreads?: number;
  engine: string;
  skip: boolean;
}> = [
  {
    name: 'system espeak-ng',
    preferSystemBinaries: true,
    engine: 'espeak-system',
    skip: !hasTool('espeak-ng'),
  },
  // What `npm start` uses on a fresh machine: the WebAssembly build in a worker thread, no system binary.
  { name: 'npm WebAssembly espeak-ng', preferSystemBinaries: false, engine: 'espeak-wasm', skip: false },
  {
    name: 'npm WebAssembly espeak-ng in-thread',
    preferSystemBinaries: false,
    ttsThreads: 0,
    engine: 'espeak-wasm',
    skip: false,
  },
];

for (const mode of modes) {
  describe.skipIf(mode.skip)(`TTS with ${mode.name}`, () => {
    let media: RingcastMediaService;
    const render = (request: Partial<TtsRequest>) =>
      media.renderTts({ text: SENTENCE, lan: 'EN', ...request });

    beforeAll(() => {
      media = createMediaService({
        preferSystemBinaries: mode.preferSystemBinaries,
        ttsThreads: mode.ttsThreads,
      });
    });
    afterAll(() => media.close());

    it('uses the expected engine and says so', async () => {
      await media.ready();
      expect(media.engines.tts).toBe(mode.engine);
      expect(media.describe()).toContain(
        mode.preferSystemBinaries ? 'system binary' : mode.ttsThreads === 0 ? 'in-thread' : '1 worker thread',
      );
    });

    it('renders 8 kHz mono PCM whose duration grows with the text', async () => {
      const short = await render({ text: 'Hello.' });
      const medium = await render({ text: SENTENCE });
      const long = await render({ text: LONG });
      expect(short.sampleRate).toBe(8000);
      expect(medium.samples).toBeInstanceOf(Int16Array);
      expect(medium.durationMs).toBe(Math.round(medium.samples.length / 8));
      expect(short.durationMs).toBeGreaterThan(200);
      expect(medium.durationMs).toBeGreaterThan(short.durationMs * 2);
      expect(long.durationMs).toBeGreaterThan(medium.durationMs * 2);
      console.info(
        `[${mode.name}] durations short/medium/long: ${short.durationMs}/${medium.durationMs}/${long.durationMs} ms`,
      );
    });

    it('speakingRate shortens the audio, clamped to eSpeak 80-450 wpm', async () => {
      const slow = await render({ speakingRate: 0.5 });
      const normal = await render({ speakingRate: 1 });
      const fast = await render({ speakingRate: 2 });
      const faster = await render({ speakingRate: 3 });
      const fastest = await render({ speakingRate: 4 });
      expect(slow.durationMs / normal.durationMs).toBeGreaterThan(1.5);
      expect(normal.durationMs / fast.durationMs).toBeGreaterThan(1.5);
      expect(fast.durationMs).toBeGreaterThan(faster.durationMs);
      // 3.0 and 4.0 both exceed eSpeak's 450 wpm ceiling: documented clamp, the same speech. The
      // WebAssembly engine rendering in-thread is not always bit-exact between renders (a sample off by
      // one here and there), so compare length and the residual's energy rather than every sample.
      expect(espeakWpm(3)).toBe(450);
      expect(fastest.samples.length).toBe(faster.samples.length);
      let signal = 0;
      let residual = 0;
      for (let i = 0; i < faster.samples.length; i++) {
        signal += faster.samples[i]! ** 2;
        residual += (fastest.samples[i]! - faster.samples[i]!) ** 2;
      }
      expect(residual / signal).toBeLessThan(0.01);
      console.info(
        `[${mode.name}] rate 0.5/1/2/4: ${slow.durationMs}/${normal.durationMs}/${fast.durationMs}/${fastest.durationMs} ms`,
      );
    });

    it('male and female voices differ in pitch (autocorrelation F0)', async () => {
      const male = medianF0((await render({ gender: 1 })).samples);
      const female = medianF0((await render({ gender: 2 })).samples);
      const defaulted = await render({});
      expect(male).toBeGreaterThan(70);
      expect(male).toBeLessThan(150);
      expect(female).toBeGreaterThan(160);
      expect(female / male).toBeGreaterThan(1.4);
      // Spec §2: empty ssmlGender means female.
      expect(defaulted.key).toBe((await render({ gender: 2 })).key);
      console.info(`[${mode.name}] median F0 male ${male.toFixed(0)} Hz, female ${female.toFixed(0)} Hz`);
    });

    it('different languages and accents produce different audio', async () => {
      const text = 'Schedule a tomorrow appointment with the garage.';
      const us = await render({ text, accent: 1 });
      const uk = await render({ text, accent: 44 });
      const india = await render({ text, accent: 91 });
      const au = await render({ text, accent: 61 });
      const german = await render({ text, lan: 'DE' });
      for (const other of [uk, india, au, german]) {
        expect(other.samples).not.toEqual(us.samples);
        expect(relativeDifference(us.samples, other.samples)).toBeGreaterThan(0.3);
      }
      const brazil = await render({ text: SAMPLES.PT!, lan: 'PT', accent: 55 });
      const portugal = await render({ text: SAMPLES.PT!, lan: 'PT', accent: 351 });
      expect(relativeDifference(brazil.samples, portugal.samples)).toBeGreaterThan(0.3);
    });

    it('every language and accent of the table renders audible speech', async () => {
      for (const language of media.languages()) {
        for (const accent of language.accents) {
          const audio = await render({ text: SAMPLES[language.lan]!, lan: language.lan, accent: accent.id });
          expect(audio.durationMs, `${language.lan}/${accent.id}`).toBeGreaterThan(400);
          expect(
            Math.max(...audio.samples.subarray(0, 40000)),
            `${language.lan}/${accent.id}`,
          ).toBeGreaterThan(2000);
        }
      }
    });

    it('legacy aliases render the same voice as the §7 code', async () => {
      const jp = await render({ text: SAMPLES.JA!, lan: 'JP' });
      const ja = await render({ text: SAMPLES.JA!, lan: 'ja' });
      expect(jp).toBe(ja);
    });

    it('serves identical requests from the cache without re-rendering', async () => {
      const fresh = createMediaService({
        preferSystemBinaries: mode.preferSystemBinaries,
        ttsThreads: mode.ttsThreads,
      });
      const request = { text: 'Cache me if you can.', lan: 'EN' };
      const first = await fresh.renderTts(request);
      const second = await fresh.renderTts({ ...request, text: '  Cache me   if you can. ' });
      expect(second).toBe(first);
      expect(fresh.stats()).toMatchObject({ ttsRenders: 1, ttsMemoryHits: 1 });
      const together = await Promise.all([1, 2, 3].map(() => fresh.renderTts({ ...request, gender: 1 })));
      expect(together[1]).toBe(together[0]);
      expect(fresh.stats().ttsRenders).toBe(2);
      await fresh.close();
    });

    it('renders a burst of distinct personalised prompts (a campaign start)', async () => {
      const names = Array.from({ length: 30 }, (_, i) => `caller number ${i + 1}`);
      const before = media.stats().ttsRenders;
      const audios = await Promise.all(
        names.map((name) => render({ text: `Hello ${name}, your code is ready.` })),
      );
      expect(media.stats().ttsRenders - before).toBe(30);
      expect(new Set(audios.map((a) => a.key)).size).toBe(30);
      for (const audio of audios) expect(audio.durationMs).toBeGreaterThan(1500);
    });

    it('persists renders in cacheDir so a new service does not re-render', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ringcast-tts-cache-'));
      try {
        const request = { text: 'Persist this prompt.', lan: 'EN', accent: 44 };
        const a = createMediaService({
          preferSystemBinaries: mode.preferSystemBinaries,
          ttsThreads: mode.ttsThreads,
          cacheDir: dir,
        });
        const first = await a.renderTts(request);
        await a.close();
        const b = createMediaService({
          preferSystemBinaries: mode.preferSystemBinaries,
          ttsThreads: mode.ttsThreads,
          cacheDir: dir,
        });
        const second = await b.renderTts(request);
        expect(b.stats()).toMatchObject({ ttsRenders: 0, ttsDiskHits: 1 });
        expect(second.samples).toEqual(first.samples);
        expect(second.key).toBe(first.key);
        await b.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('rejects empty and oversized text with MediaInputError(text)', async () => {
      await expect(render({ text: '   ' })).rejects.toMatchObject({ name: 'MediaInputError', field: 'text' });
      await expect(render({ text: 'a'.repeat(5001) })).rejects.toBeInstanceOf(MediaInputError);
    });
  });
}

describe.skipIf(!hasTool('espeak-ng'))('system and WebAssembly engines agree', () => {
  it('render the same prompt to similar durations', async () => {
    const system = createMediaService({ preferSystemBinaries: true });
    const wasm = createMediaService({ preferSystemBinaries: false });
    const request = { text: SENTENCE, lan: 'EN', accent: 44, gender: 1 as const };
    const a = await system.renderTts(request);
    const b = await wasm.renderTts(request);
    expect(Math.abs(a.durationMs - b.durationMs) / a.durationMs).toBeLessThan(0.15);
    expect(a.key).not.toBe(b.key); // the cache key includes the engine
    await system.close();
    await wasm.close();
  });
});
