/** The TTS language table (spec §7), served at /voice/tts/languages. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.ts';
import { ok } from './envelope.ts';

export function registerTtsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const handler = async () => ok(ctx.media.languages());
  app.get('/voice/tts/languages', handler);
  app.post('/voice/tts/languages', handler);
}
