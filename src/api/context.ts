import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Quotas, TrustProxy } from '../config.ts';
import type { Db } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import type { MediaService } from '../media/types.ts';

/**
 * The Fastify instance route modules register on: request bodies, params and queries are typed from their
 * TypeBox schemas (no casts), the same schemas that validate them and generate docs/openapi.json.
 */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What route modules get: the database, the clock and the media layer. */
export interface ApiContext {
  db: Db;
  clock: Clock;
  media: MediaService;
  log: Logger;
  /** Which X-Forwarded-For hops to trust (behind reverse proxies) when checking IP allow-lists. */
  trustProxy: TrustProxy;
  /** Service-wide quota defaults; an account's own values override them. */
  quotas: Quotas;
  /** [ours] SMS route ids a task may name in `smsAppId` (SMS_ROUTES); none configured = any value refused. */
  smsRoutes?: readonly string[];
  /** How long an account looked up by Api-Key is reused (ACCOUNT_CACHE_MS; default 2 s, 0 = never). */
  accountCacheMs?: number;
  /** PostgreSQL: send bodies this large or more are COPYed as they are read (SEND_STREAM_MIN_BYTES). */
  sendStreamMinBytes?: number;
  /** Validate every answer against its route's response schema before sending it (tests). */
  checkResponses?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    account: AccountRow;
    rawBody: string;
  }
}
