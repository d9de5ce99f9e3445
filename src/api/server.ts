/**
 * The HTTP API: every route is served bare and under /v3 (spec §1), authenticated before its body is
 * read (src/api/auth.ts), and answered with the envelope, HTTP 200, whatever happens — including
 * requests Node or the router refuse before any route runs (bad URL, oversized headers, unknown path).
 * OpenAPI is served at /docs.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RouteOptions,
} from 'fastify';
import { defaultAccountCacheMs } from '../config.ts';
import { invalid, ResultCode } from '../domain/errors.ts';
import { registerAccountRoutes } from './account.ts';
import { AccountLookup } from './account-lookup.ts';
import { registerAgentRoutes } from './agents.ts';
import { registerAudioRoutes } from './audio.ts';
import { authenticateHeaders, requireAuthenticated, verifyPendingSignature } from './auth.ts';
import { registerCampaignRoutes } from './campaigns.ts';
import { cleanBody } from './clean-body.ts';
import { registerConsoleRoutes } from './console.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { registerDncRoutes } from './dnc.ts';
import { type Envelope, failure, toEnvelope } from './envelope.ts';
import { registerEventRoutes } from './events.ts';
import { registerExportRoutes } from './exports.ts';
import { type OpsContext, registerHealthRoutes } from './health.ts';
import { registerRecallFlowRoutes } from './recall-flows.ts';
import { registerRecordRoutes } from './records.ts';
import { sendBodyOf } from './send-body.ts';
import { registerTaskRoutes } from './tasks.ts';
import { registerTtsRoutes } from './tts.ts';
import { registerVoiceFileRoutes } from './voice-files.ts';

/** Most requests are small; routes that carry callee lists or audio get more (`bodyLimitFor`). */
const defaultBodyLimit = 1024 * 1024;
/** Big enough for 200,000 callees with text1..text10 filled. */
const calleeListBodyLimit = 256 * 1024 * 1024;

const dncListBodyLimit = 16 * 1024 * 1024;

/** Base64 of `bytes`, plus room for the rest of the body. */
const base64Room = (bytes: number) => Math.ceil(bytes / 3) * 4 + 64 * 1024;

function bodyLimitFor(path: string, maxUploadBytes: number): number | undefined {
  const bare = path.replace(/^\/v3(?=\/)/, '');
  if (bare === '/voice/group/call/send') return calleeListBodyLimit;
  // 200,000 numbers of up to 19 characters, quoted, with commas: under 5 MB; 16 MB leaves room for spaces.
  if (bare === '/voice/dnc/add' || bare === '/voice/dnc/del') return dncListBodyLimit;
  if (bare === '/voice/fileUpload') return base64Room(maxUploadBytes);
  // May carry source=2 uploads for the task and its recall nodes.
  if (['/voice/group/call/update', '/voice/group/call/resend', '/voice/recallFlow/update'].includes(bare))
    return base64Room(maxUploadBytes) * 4;
  return undefined;
}

/** One entry of the route table (the generated isolation and envelope tests enumerate these). */
export interface ApiRoute {
  method: string;
  url: string;
  schema: RouteOptions['schema'];
  bodyLimit: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every API route as registered (bare and /v3), from the onRoute hook. */
    apiRoutes: readonly ApiRoute[];
  }
}

function isApiPath(url: string): boolean {
  return /^\/(v3\/)?(voice|cc)(\/|$|\?)/.test(url);
}

/** Refused before any route ran, by Node's HTTP parser: answered on the raw socket, still as an envelope. */
function clientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const envelope =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? failure(ResultCode.limitReached, 'headers: request headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? failure(ResultCode.parameter, 'request: the request took too long to arrive')
        : failure(ResultCode.parameter, 'request: malformed HTTP request');
  const body = JSON.stringify(envelope);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function sendEnvelope(request: FastifyRequest, reply: FastifyReply, envelope: Envelope): void {
  // A refused request whose body was not read: close rather than read (and discard) the rest of it.
  if (!request.raw.complete) void reply.header('connection', 'close');
  void reply.code(200).type('application/json; charset=utf-8').send(envelope);
}

/**
 * Answers are plain JSON.stringify: response schemas document and type the answers rather than shape them
 * (fast-json-stringify would silently drop a field a schema forgot). With `check` on, each answer is first
 * validated against its schema and a mismatch is an error, so the test suite keeps the schemas true.
 */
export function responseSerializer(check: boolean) {
  const ajv = check ? new Ajv({ strict: false, validateFormats: false, allErrors: true }) : null;
  return ({ schema, url, httpStatus }: { schema: object; url: string; httpStatus?: string }) => {
    const validate = ajv?.compile(schema);
    return (data: unknown): string => {
      if (validate && !validate(data)) {
        throw new Error(
          `answer of ${url} (${httpStatus ?? 200}) does not match its response schema: ${ajv!.errorsText(validate.errors)}`,
        );
      }
      return JSON.stringify(data);
    };
  };
}

export async function buildServer(ctx: ApiContext, ops?: OpsContext) {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: defaultBodyLimit,
    // A hop count trusts the N nearest hops (socket first): the client is N entries from the end of
    // X-Forwarded-For, whatever it wrote at the start. Fastify itself refuses bare numbers.
    trustProxy:
      typeof ctx.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(ctx.trustProxy)
        : ctx.trustProxy,
    logController: new LogController({ disableRequestLogging: true }),
    // A caller's (or proxy's) X-Request-Id is kept when it is sane; otherwise a fresh one. Echoed back.
    requestIdHeader: false,
    genReqId: (raw) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
    },
    ajv: {
      customOptions: { coerceTypes: true, useDefaults: false, removeAdditional: false, allErrors: false },
    },
    clientErrorHandler: clientError,
    // Bad percent-encoding in the path, a path parameter over 100 characters: the router's own refusals.
    frameworkErrors: (error, request, reply) => {
      const what =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? failure(ResultCode.parameter, 'url: a path parameter is too long')
          : failure(ResultCode.parameter, 'url: not a valid URL');
      sendEnvelope(request, reply, what);
    },
  });

  const accounts = new AccountLookup(ctx.db, ctx.accountCacheMs ?? defaultAccountCacheMs);
  app.addHook('onClose', async () => accounts.close());

  const routes: ApiRoute[] = [];
  app.decorate('apiRoutes', routes);
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    if (!isApiPath(url)) return;
    const limit = bodyLimitFor(url, ctx.media.uploadLimits.maxBytes);
    if (limit !== undefined && route.bodyLimit === undefined) route.bodyLimit = limit;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url, schema: route.schema, bodyLimit: route.bodyLimit ?? defaultBodyLimit });
    }
  });

  // JSON only; nothing is parsed for a request that is not authenticated (see auth.ts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    async (request: FastifyRequest, body: string | Buffer) => {
      // The send route's body was read as a stream in its preParsing hook (send-body.ts); what arrives here
      // is an empty stand-in.
      const streamed = sendBodyOf(request);
      if (streamed) {
        request.rawBody = ''; // not kept: the point of streaming it
        return streamed.rest;
      }
      const text = typeof body === 'string' ? body : body.toString('utf8');
      await verifyPendingSignature(ctx, request, text);
      request.rawBody = text;
      if (text.trim() === '') return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw invalid('body', 'must be valid JSON');
      }
      return cleanBody(parsed, '');
    },
  );

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

  app.setSerializerCompiler(responseSerializer(ctx.checkResponses === true));
  app.setErrorHandler((error, request, reply) => {
    const envelope = toEnvelope(error, (internal) =>
      request.log.error({ err: internal, url: request.url }, 'request failed'),
    );
    sendEnvelope(request, reply, envelope);
  });
  const notFound = (request: FastifyRequest) =>
    failure(ResultCode.notFound, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`);
  // API paths keep the spec's HTTP 200 envelope; anything else unknown is a real 404, so a probe or a
  // scraper pointed at a wrong path fails instead of "passing".
  const answerNotFound = (request: FastifyRequest, reply: FastifyReply) => {
    if (isApiPath(request.url)) return sendEnvelope(request, reply, notFound(request));
    if (!request.raw.complete) void reply.header('connection', 'close');
    void reply.code(404).send({ error: 'not found', path: request.url.split('?')[0] });
  };
  app.setNotFoundHandler((request, reply) => answerNotFound(request, reply));
  // Unknown paths are answered before their body is read (Fastify would otherwise parse it for the 404).
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (request.is404) {
      answerNotFound(request, reply);
      return reply;
    }
  });
  // One line per request: id, account, route, status, time (probes and scrapes at debug).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    ops?.metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      seconds,
    );
    const probe = route.startsWith('/health') || route === '/metrics';
    request.log[probe ? 'debug' : 'info'](
      {
        accountId: request.account?.id,
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  const api = async (untyped: FastifyInstance) => {
    const scope: ApiApp = untyped.withTypeProvider<TypeBoxTypeProvider>();
    scope.addHook('onRequest', async (request) => authenticateHeaders(accounts, request));
    scope.addHook('preValidation', async (request) => requireAuthenticated(ctx, request));
    registerVoiceFileRoutes(scope, ctx);
    registerTaskRoutes(scope, ctx);
    registerRecordRoutes(scope, ctx);
    registerRecallFlowRoutes(scope, ctx);
    registerTtsRoutes(scope, ctx);
    registerAgentRoutes(scope, ctx);
    // [ours] endpoints the console is built on (docs/console.md)
    registerAccountRoutes(scope, ctx);
    registerDncRoutes(scope, ctx);
    registerCampaignRoutes(scope, ctx);
    registerExportRoutes(scope, ctx);
    registerEventRoutes(scope, ctx);
    registerAudioRoutes(scope, ctx);
  };
  await app.register(api);
  await app.register(api, { prefix: '/v3' });
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  if (ops) registerHealthRoutes(app, ctx, ops);
  registerConsoleRoutes(app);
  return app;
}
