/** What the benchmarks share: an account with limits out of the way, and a client's signed headers. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../src/db/db.ts';
import { createAccount } from '../src/db/queries/accounts.ts';
import { compatSign } from '../src/domain/sign.ts';

/** An account (and its app) whose concurrency, pacing and quotas never limit a benchmark. */
export function benchAccount(db: Db, name: string, now: number) {
  return createAccount(
    db,
    {
      name: `${name} ${randomBytes(4).toString('hex')}`,
      timeZone: 'UTC+8',
      ipAllowList: [],
      maxConcurrency: 1_000_000,
      callsPerSecond: 1_000_000,
      callbackUrl: null,
      requireHmac: false,
      maxOpenTasks: 1_000,
      maxQueuedCallees: 10_000_000,
    },
    now,
  );
}

/** Headers of a JSON request signed now (the compatible scheme), as a client sends them. */
export function signedHeaders(apiKey: string, apiSecret: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'Api-Key': apiKey,
    Timestamp: timestamp,
    Sign: compatSign(apiKey, apiSecret, timestamp),
  };
}
