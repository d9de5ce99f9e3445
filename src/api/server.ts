/**
 * The HTTP API: every route is served bare and under /v3 (spec §1), authenticated, and answered with the
 * envelope, HTTP 200, whatever happens. OpenAPI is served at /docs.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { ResultCode } from '../domain/errors.ts';
import { registerAccountRoutes } from './account.ts';
import { registerAgentRoutes } from './agents.ts';
import { registerAudioRoutes } from './audio.ts';
import { authenticate } from './auth.ts';
import { registerCampaignRoutes } from './campaigns.ts';
import { registerConsoleRoutes } from './console.ts';
import type { ApiContext } from './context.ts';
import { failure, toEnvelope } from './envelope.ts';
import { registerEventRoutes } from './events.ts';
import { registerExportRoutes } from './exports.ts';
import { registerRecallFlowRoutes } from './recall-flows.ts';
import { registerRecordRoutes } from './records.ts';
import { registerTaskRoutes } from './tasks.ts';
import { registerTtsRoutes } from './tts.ts';
import { registerVoiceFileRoutes } from './voice-files.ts';

/** Big enough for 200,000 callees with text1..text10 filled. */
const bodyLimit = 256 * 1024 * 1024;

/** Clients send null or '' for "not given"; treat them as absent before validation. */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null || (item === '' && key !== 'displayNum')) continue;
    out[key] = dropEmpty(item);
  }
  return out;
}

export async function buildServer(ctx: ApiContext) {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit,
    trustProxy: ctx.trustProxy,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: { coerceTypes: true, useDefaults: false, removeAdditional: false, allErrors: false },
    },
  });

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    request.rawBody = text;
    if (text.trim() === '') return done(null, {});
    try {
      done(null, dropEmpty(JSON.parse(text)));
    } catch {
      const error = new Error('body must be valid JSON') as Error & { statusCode: number };
      error.statusCode = 400;
      done(error, undefined);
    }
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Ringcast voice group-call API',
        version: '3',
        description:
          'Wire-compatible voice broadcast API. Every path is also served under /v3. Authenticate with Api-Key, Timestamp and Sign = md5(apiKey + apiSecret + timestamp).',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'Api-Key' },
          timestamp: { type: 'apiKey', in: 'header', name: 'Timestamp' },
          sign: { type: 'apiKey', in: 'header', name: 'Sign' },
        },
      },
      security: [{ apiKey: [], timestamp: [], sign: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((error, request, reply) => {
    const envelope = toEnvelope(error, (internal) =>
      request.log.error({ err: internal, url: request.url }, 'request failed'),
    );
    void reply.code(200).send(envelope);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(200)
      .send(failure(ResultCode.notFound, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));
  });

  const api = async (scope: FastifyInstance) => {
    scope.addHook('preHandler', async (request) => authenticate(ctx, request));
    registerVoiceFileRoutes(scope, ctx);
    registerTaskRoutes(scope, ctx);
    registerRecordRoutes(scope, ctx);
    registerRecallFlowRoutes(scope, ctx);
    registerTtsRoutes(scope, ctx);
    registerAgentRoutes(scope, ctx);
    // [ours] endpoints the console is built on (docs/console.md)
    registerAccountRoutes(scope, ctx);
    registerCampaignRoutes(scope, ctx);
    registerExportRoutes(scope, ctx);
    registerEventRoutes(scope, ctx);
    registerAudioRoutes(scope, ctx);
  };
  await app.register(api);
  await app.register(api, { prefix: '/v3' });
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  registerConsoleRoutes(app);
  return app;
}
