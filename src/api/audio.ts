/**
 * [ours] Audio to listen to: `GET /voice/fileAudio/{fileId}` (a voice file as the callee hears it) and
 * `/voice/tts/preview` (a TTS prompt rendered as a task would render it, with the given text1..text10
 * filled). Both answer `audio/wav` (8 kHz PCM16, which every browser plays); errors are the JSON envelope.
 */
import { Type } from '@sinclair/typebox';
import { getVoiceFileAudio } from '../db/queries/voice-files.ts';
import { invalid, notFound } from '../domain/errors.ts';
import { fillTemplate } from '../domain/template.ts';
import { writeWav } from '../media/audio.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { Produces } from './responses.ts';
import { voiceContentProps } from './schemas.ts';

const calleeText = Type.Optional(Type.String({ maxLength: 30 }));
const PreviewBody = Type.Object({
  text: Type.String({ maxLength: 1000 }),
  lan: Type.String({ minLength: 2, maxLength: 12 }),
  speakingRate: voiceContentProps.speakingRate,
  ssmlGender: voiceContentProps.ssmlGender,
  accent: voiceContentProps.accent,
  text1: calleeText,
  text2: calleeText,
  text3: calleeText,
  text4: calleeText,
  text5: calleeText,
  text6: calleeText,
  text7: calleeText,
  text8: calleeText,
  text9: calleeText,
  text10: calleeText,
});

export function registerAudioRoutes(app: ApiApp, ctx: ApiContext): void {
  const Params = Type.Object({ fileId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
  app.get(
    '/voice/fileAudio/:fileId',
    {
      schema: {
        params: Params,
        description: '[ours] the voice file as audio/wav (8 kHz PCM16)',
        response: Produces('audio/wav', 'the audio'),
      },
    },
    async (request, reply) => {
      const { fileId } = request.params;
      const file = await getVoiceFileAudio(ctx.db, request.account.id, fileId);
      if (!file) throw notFound(`file ${fileId}`);
      const audio = await ctx.media.loadStored(`file:${file.id}`, Buffer.from(file.audio));
      return reply.type('audio/wav').send(writeWav(audio.samples, 'pcm16'));
    },
  );

  app.post(
    '/voice/tts/preview',
    {
      schema: {
        body: PreviewBody,
        description: '[ours] a text-to-speech prompt rendered as a task would, as audio/wav (8 kHz PCM16)',
        response: Produces('audio/wav', 'the rendered prompt'),
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!body.text.trim()) throw invalid('text', 'required when source=3');
      const info: Record<string, string> = {};
      for (let n = 1; n <= 10; n++) {
        const value = body[`text${n}` as keyof typeof body];
        if (typeof value === 'string') info[`text${n}`] = value;
      }
      const audio = await ctx.media.renderTts({
        text: fillTemplate(body.text, info),
        lan: body.lan,
        ...(body.accent !== undefined ? { accent: body.accent } : {}),
        ...(body.ssmlGender !== undefined ? { gender: body.ssmlGender as 1 | 2 } : {}),
        speakingRate: body.speakingRate ?? 1,
      });
      return reply.type('audio/wav').send(writeWav(audio.samples, 'pcm16'));
    },
  );
}
