import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import type { MediaService } from '../media/types.ts';

/** What route modules get: the database, the clock and the media layer. */
export interface ApiContext {
  db: Db;
  clock: Clock;
  media: MediaService;
  log: Logger;
  /** Trust X-Forwarded-For (behind a reverse proxy) when checking IP allow-lists. */
  trustProxy: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    account: AccountRow;
    rawBody: string;
  }
}
