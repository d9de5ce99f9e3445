import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope, Language } from './responses.ts';

export function registerTtsRoutes(app: ApiApp, ctx: ApiContext): void {
  const handler = async () => ok(ctx.media.languages());
  const schema = {
    description: 'the text-to-speech languages, accents and genders (spec §5)',
    response: { 200: Envelope(Type.Array(Language), 'the language table') },
  };
  app.get('/voice/tts/languages', { schema }, handler);
  app.post('/voice/tts/languages', { schema }, handler);
}
