import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Quotas, TrustProxy } from '../config.ts';
import type { Db } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import type { MediaService } from '../media/types.ts';

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
}

declare module 'fastify' {
  interface FastifyRequest {
    account: AccountRow;
    rawBody: string;
  }
}
