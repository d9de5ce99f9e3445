import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWavChunks } from '../../src/media/audio.ts';
import { createMediaService, type RingcastMediaService } from '../../src/media/service.ts';
import { defaultUploadLimits, MediaInputError } from '../../src/media/types.ts';
import type { UploadWorkerReply, UploadWorkerRequest } from '../../src/media/upload.ts';
import { JobWorker } from '../../src/media/worker.ts';
import { hasTool } from '../helpers/tools.ts';
import { sineWav, toneFrequency } from './measure.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const HAS_FFMPEG = hasTool('ffmpeg');

const modes: Array<{
  name: string;
  preferSystemBinaries: boolean;
  uploadWorker?: boolean;
  upload: string;
  skip: boolean;
}> = [
  { name: 'system ffmpeg', preferSystemBinaries: true, upload: 'ffmpeg', skip: !HAS_FFMPEG },
  // The npm-only path (`npm start` on a fresh machine): our WAV reader / mpg123-decoder + our resampler,
  // in a worker thread (the default) and on the calling thread.
  { name: 'npm decoders (worker thread)', preferSystemBinaries: false, upload: 'npm', skip: false },
  {
    name: 'npm decoders (in-thread)',
    preferSystemBinaries: false,
    uploadWorker: false,
    upload: 'npm',
    skip: false,
  },
];

async function expectFileError(promise: Promise<unknown>, message?: RegExp): Promise<MediaInputError> {
  const error = await promise.then(
    () => {
      throw new Error('expected MediaInputError, the upload was accepted');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaInputError);
  expect((error as MediaInputError).field).toBe('file');
  if (message) expect((error as MediaInputError).message).toMatch(message);
  return error as MediaInputError;
}

for (const mode of modes) {
  describe.skipIf(mode.skip)(`uploads with ${mode.name}`, () => {
    let media: RingcastMediaService;
    let mp3: Buffer;

    beforeAll(async () => {
      media = createMediaService({
        preferSystemBinaries: mode.preferSystemBinaries,
        uploadWorker: mode.uploadWorker,
        warmUp: false,
      });
      mp3 = await readFile(new URL('tone-300hz-2s.mp3', FIXTURES));
    });
    afterAll(() => media.close());

    it('uses the expected decoder', () => {
      expect(media.engines.upload).toBe(mode.upload);
    });

    it('converts a 44.1 kHz stereo WAV to 8 kHz mono u-law with the right duration and pitch', async () => {
      const wav = sineWav({ freq: 440, seconds: 1.5, rate: 44100, channels: 2 });
      const converted = await media.convertUpload(wav, 'greeting.wav');
      expect(converted.format).toBe('wav');
      expect(converted.durationMs).toBeGreaterThanOrEqual(1490);
      expect(converted.durationMs).toBeLessThanOrEqual(1510);
      const chunks = parseWavChunks(converted.stored);
      if (typeof chunks === 'string') throw new Error(chunks);
      expect(chunks).toMatchObject({ audioFormat: 7, channels: 1, sampleRate: 8000, bitsPerSample: 8 });
      const audio = await media.loadStored('wav-1', converted.stored);
      expect(audio.sampleRate).toBe(8000);
      expect(audio.durationMs).toBe(converted.durationMs);
      expect(toneFrequency(audio.samples)).toBeCloseTo(440, -1);
      expect(await media.loadStored('wav-1', converted.stored)).toBe(audio);
    });

    it('converts a 16 kHz mono WAV with a misleading .mp3 name (content decides)', async () => {
      const converted = await media.convertUpload(
        sineWav({ freq: 300, seconds: 3, rate: 16000, channels: 1 }),
        'x.mp3',
      );
      expect(converted.format).toBe('wav');
      expect(Math.abs(converted.durationMs - 3000)).toBeLessThanOrEqual(10);
    });

    it('converts the MP3 fixture (22.05 kHz, 2 s, 300 Hz) to 8 kHz with the right duration and pitch', async () => {
      const converted = await media.convertUpload(mp3, 'tone.mp3');
      expect(converted.format).toBe('mp3');
      expect(Math.abs(converted.durationMs - 2000)).toBeLessThanOrEqual(60);
      const audio = await media.loadStored('mp3-1', converted.stored);
      expect(toneFrequency(audio.samples)).toBeGreaterThan(290);
      expect(toneFrequency(audio.samples)).toBeLessThan(310);
      console.info(
        `[${mode.name}] mp3 fixture → ${converted.durationMs} ms, ${converted.stored.length} bytes stored`,
      );
    });

    it.skipIf(!HAS_FFMPEG)('converts an MP3 made by ffmpeg/lame at 44.1 kHz stereo', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ringcast-mp3-'));
      try {
        const file = join(dir, 'speech.mp3');
        execFileSync('ffmpeg', [
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=500:duration=4.5',
          '-ac',
          '2',
          '-ar',
          '44100',
          '-c:a',
          'libmp3lame',
          '-b:a',
          '128k',
          '-y',
          file,
        ]);
        const converted = await media.convertUpload(await readFile(file), 'speech.mp3');
        expect(Math.abs(converted.durationMs - 4500)).toBeLessThanOrEqual(60);
        const audio = await media.loadStored('mp3-2', converted.stored);
        expect(toneFrequency(audio.samples)).toBeCloseTo(500, -1);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it.skipIf(!HAS_FFMPEG)(
      'decodes WAV encodings: a-law, u-law, float, 24-bit, 8-bit, IMA ADPCM',
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'ringcast-wavs-'));
        try {
          for (const codec of [
            'pcm_alaw',
            'pcm_mulaw',
            'pcm_f32le',
            'pcm_s24le',
            'pcm_u8',
            'adpcm_ima_wav',
          ]) {
            const file = join(dir, `${codec}.wav`);
            execFileSync('ffmpeg', [
              '-hide_banner',
              '-loglevel',
              'error',
              '-f',
              'lavfi',
              '-i',
              'sine=frequency=350:duration=1.2',
              '-ar',
              '16000',
              '-c:a',
              codec,
              '-y',
              file,
            ]);
            const converted = await media.convertUpload(await readFile(file), `${codec}.wav`);
            // IMA ADPCM comes in fixed blocks: the npm path keeps the last block's padding (< 130 ms here).
            const slack = codec === 'adpcm_ima_wav' ? 130 : 10;
            expect(converted.durationMs - 1200, codec).toBeGreaterThanOrEqual(-10);
            expect(converted.durationMs - 1200, codec).toBeLessThanOrEqual(slack);
            const audio = await media.loadStored(codec, converted.stored);
            expect(Math.abs(toneFrequency(audio.samples) - 350), codec).toBeLessThan(5);
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    );

    it('M4A: converted with ffmpeg, refused with a clear reason without it', async () => {
      if (mode.upload === 'npm') {
        const m4aHead = Buffer.concat([
          Buffer.from([0, 0, 0, 0x20]),
          Buffer.from('ftypM4A ', 'latin1'),
          Buffer.alloc(64),
        ]);
        await expectFileError(media.convertUpload(m4aHead, 'voice.m4a'), /M4A uploads need ffmpeg/);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'ringcast-m4a-'));
      try {
        const file = join(dir, 'voice.m4a');
        execFileSync('ffmpeg', [
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=400:duration=2.5',
          '-c:a',
          'aac',
          '-b:a',
          '64k',
          '-y',
          file,
        ]);
        const converted = await media.convertUpload(await readFile(file), 'voice.m4a');
        expect(converted.format).toBe('m4a');
        expect(Math.abs(converted.durationMs - 2500)).toBeLessThanOrEqual(60);
        const truncated = (await readFile(file)).subarray(0, 300);
        await expectFileError(media.convertUpload(truncated, 'voice.m4a'), /could not be decoded|no audio/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses non-audio, empty and random bytes', async () => {
      await expectFileError(media.convertUpload(Buffer.alloc(0), 'a.wav'), /empty/);
      await expectFileError(
        media.convertUpload(Buffer.from('hello, I am a text file'), 'a.mp3'),
        /not an MP3, WAV or M4A/,
      );
      const png = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        Buffer.alloc(500, 7),
      ]);
      await expectFileError(media.convertUpload(png, 'a.wav'), /not recognised/);
      let seed = 42;
      const random = Buffer.alloc(50_000);
      for (let i = 0; i < random.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        random[i] = seed >>> 24;
      }
      await expectFileError(media.convertUpload(random, 'a.mp3'));
    });

    it('refuses truncated files', async () => {
      await expectFileError(media.convertUpload(mp3.subarray(0, mp3.length / 2), 'a.mp3'), /truncated/);
      await expectFileError(media.convertUpload(mp3.subarray(0, 200), 'a.mp3'));
      const wav = sineWav({ freq: 300, seconds: 1, rate: 8000, channels: 1 });
      await expectFileError(media.convertUpload(wav.subarray(0, 4000), 'a.wav'), /truncated/);
      await expectFileError(
        media.convertUpload(wav.subarray(0, 30), 'a.wav'),
        /fmt chunk is truncated|no fmt/,
      );
      await expectFileError(media.convertUpload(wav.subarray(0, 44), 'a.wav'), /truncated|no audio/);
    });

    it('never crashes on an MP3 with a damaged middle: converts the rest or refuses', async () => {
      const damaged = Buffer.from(mp3);
      for (let i = 2000; i < 5000; i++) damaged[i] = (i * 7919) & 0xff;
      const outcome = await media.convertUpload(damaged, 'a.mp3').then(
        (converted) => converted.durationMs,
        (error: unknown) => error,
      );
      if (typeof outcome === 'number') expect(outcome).toBeLessThanOrEqual(2100);
      else expect(outcome).toBeInstanceOf(MediaInputError);
    });

    it('states the size and duration limits in the error', async () => {
      const huge = Buffer.concat([
        sineWav({ freq: 300, seconds: 0.1, rate: 8000, channels: 1 }),
        Buffer.alloc(defaultUploadLimits.maxBytes),
      ]);
      await expectFileError(media.convertUpload(huge, 'big.wav'), /limit is 20 MB/);
      const long = sineWav({ freq: 300, seconds: 602, rate: 8000, channels: 1 });
      expect(long.length).toBeLessThan(defaultUploadLimits.maxBytes);
      await expectFileError(media.convertUpload(long, 'long.wav'), /limit is 10 minutes/);
    });
  });
}

describe.skipIf(!HAS_FFMPEG)('ffmpeg and npm paths agree', () => {
  it('give the same duration and pitch for the MP3 fixture', async () => {
    const mp3 = await readFile(new URL('tone-300hz-2s.mp3', FIXTURES));
    const a = createMediaService({ preferSystemBinaries: true, warmUp: false });
    const b = createMediaService({ preferSystemBinaries: false, warmUp: false });
    const viaFfmpeg = await a.convertUpload(mp3, 'a.mp3');
    const viaNpm = await b.convertUpload(mp3, 'a.mp3');
    expect(Math.abs(viaFfmpeg.durationMs - viaNpm.durationMs)).toBeLessThanOrEqual(60);
    const fa = toneFrequency((await a.loadStored('a', viaFfmpeg.stored)).samples);
    const fb = toneFrequency((await b.loadStored('b', viaNpm.stored)).samples);
    expect(Math.abs(fa - fb)).toBeLessThan(5);
    console.info(
      `mp3 fixture: ffmpeg ${viaFfmpeg.durationMs} ms / ${fa.toFixed(1)} Hz, npm ${viaNpm.durationMs} ms / ${fb.toFixed(1)} Hz`,
    );
  });
});

describe('npm upload worker', () => {
  it('abandons a job over its time limit and serves the next one with a fresh worker', async () => {
    const worker = new JobWorker<UploadWorkerRequest, UploadWorkerReply>('upload-worker');
    const wav = sineWav({ freq: 300, seconds: 120, rate: 48000, channels: 2 });
    const limits = defaultUploadLimits;
    expect(await worker.run({ data: new Uint8Array(wav), limits }, 1)).toBe('timeout');
    const reply = await worker.run(
      { data: new Uint8Array(sineWav({ freq: 300, seconds: 1, rate: 8000, channels: 1 })), limits },
      30_000,
    );
    expect(reply).toMatchObject({ converted: { format: 'wav', durationMs: 1000 } });
    await worker.close();
  });
});
