import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaService, type RingcastMediaService } from '../../src/media/service.ts';
import { MediaInputError } from '../../src/media/types.ts';

interface Seen {
  path: string;
  apiKey: string | undefined;
  body: {
    input: { text: string };
    voice: { languageCode: string; ssmlGender: string };
    audioConfig: { audioEncoding: string; sampleRateHertz: number; speakingRate: number };
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// Never the real network: a local server replays a response in Google's documented shape.
describe('Google Cloud TTS engine (local recorded response)', () => {
  let server: Server;
  let media: RingcastMediaService;
  const seen: Seen[] = [];
  let recorded: string;

  beforeAll(async () => {
    recorded = await readFile(new URL('./fixtures/google-synthesize-response.json', import.meta.url), 'utf8');
    server = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req)) as Seen['body'];
      const apiKey = req.headers['x-goog-api-key'];
      seen.push({ path: req.url ?? '', apiKey: typeof apiKey === 'string' ? apiKey : undefined, body });
      res.setHeader('content-type', 'application/json');
      if (body.input.text.includes('refuse')) {
        res.statusCode = 400;
        res.end(
          JSON.stringify({
            error: { code: 400, message: 'Voice does not exist', status: 'INVALID_ARGUMENT' },
          }),
        );
      } else if (body.input.text.includes('quota')) {
        res.statusCode = 429;
        res.end(
          JSON.stringify({ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }),
        );
      } else res.end(recorded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    media = createMediaService({
      tts: 'google',
      googleApiKey: 'test-key',
      googleBaseUrl: `http://127.0.0.1:${port}`,
    });
  });
  afterAll(async () => {
    await media.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('maps lan/accent/gender/rate to languageCode/ssmlGender/speakingRate and decodes LINEAR16 8 kHz', async () => {
    const audio = await media.renderTts({
      text: 'Your appointment is tomorrow.',
      lan: 'EN',
      accent: 44,
      gender: 1,
      speakingRate: 1.5,
    });
    expect(seen[0]).toEqual({
      path: '/v1/text:synthesize',
      apiKey: 'test-key',
      body: {
        input: { text: 'Your appointment is tomorrow.' },
        voice: { languageCode: 'en-GB', ssmlGender: 'MALE' },
        audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 8000, speakingRate: 1.5 },
      },
    });
    // The recorded WAV holds 13,534 samples at 8 kHz.
    expect(audio.samples.length).toBe(13534);
    expect(audio.durationMs).toBe(1692);
    expect(media.engines.tts).toBe('google');
    expect(media.describe()).toContain('Google Cloud Text-to-Speech');
  });

  it('uses Google codes for legacy aliases and defaults (female, default accent)', async () => {
    await media.renderTts({ text: 'Olá', lan: 'PT' });
    await media.renderTts({ text: 'Kamusta', lan: 'TL' });
    await media.renderTts({ text: '你好', lan: 'ZH' });
    expect(seen.slice(-3).map((s) => s.body.voice)).toEqual([
      { languageCode: 'pt-BR', ssmlGender: 'FEMALE' },
      { languageCode: 'fil-PH', ssmlGender: 'FEMALE' },
      { languageCode: 'cmn-CN', ssmlGender: 'FEMALE' },
    ]);
    // Tagalog has a native Google voice: no eSpeak stand-in note in this engine's table.
    expect(media.languages().find((l) => l.lan === 'TL')!.note).toBeUndefined();
  });

  it('caches identical requests', async () => {
    const before = seen.length;
    const a = await media.renderTts({ text: 'Same again', lan: 'EN' });
    const b = await media.renderTts({ text: 'Same again', lan: 'EN' });
    expect(b).toBe(a);
    expect(seen.length).toBe(before + 1);
  });

  it('reports a 400 as MediaInputError and other failures as errors', async () => {
    await expect(media.renderTts({ text: 'please refuse', lan: 'EN' })).rejects.toBeInstanceOf(
      MediaInputError,
    );
    const quota = await media.renderTts({ text: 'quota please', lan: 'EN' }).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(Error);
    expect(quota).not.toBeInstanceOf(MediaInputError);
    expect((quota as Error).message).toMatch(/HTTP 429: Quota exceeded/);
  });

  it('validates voices before any request', async () => {
    const before = seen.length;
    await expect(media.renderTts({ text: 'x', lan: 'EN', accent: 7 })).rejects.toMatchObject({
      field: 'accent',
    });
    expect(seen.length).toBe(before);
  });

  it('requires an API key', () => {
    expect(() => createMediaService({ tts: 'google' })).toThrow(/googleApiKey/);
  });
});
