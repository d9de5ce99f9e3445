/** Configuration from the environment; every setting has an embedded default (README, "Configuration"). */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type DbTimeouts, defaultDbTimeouts } from './db/db.ts';
import type { SimOutcomeKind } from './telephony/sim/sim-driver.ts';

type Env = Record<string, string | undefined>;

export interface Config {
  host: string;
  port: number;
  /** PostgreSQL when set; otherwise the embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  clockSpeed: number;
  /** Wall-clock instant (epoch ms) the sped-up clock is anchored at, so restarts continue one timeline. */
  clockAnchor: number;
  /** What the clock reads at the anchor (default: the anchor itself). */
  clockStart: number;
  telephony: 'sim' | 'sip';
  simSeed: string;
  /** Optional file where the simulated carrier logs every dial (crash tests). */
  simDialLog: string | undefined;
  /** Simulated carrier behaviour, e.g. SIM_RATES='answer=60,busy=10,no-answer=15,voicemail=5,unavailable=7,invalid=3'. */
  simRates: Partial<Record<SimOutcomeKind, number>>;
  simKeyRate: number | undefined;
  nodeId: string;
  leaseRealMs: number;
  pollMs: number;
  maxCallsPerNode: number;
  trustProxy: boolean;
  logLevel: string;
  /** PostgreSQL bounds (DB_CONNECT_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS, DB_IDLE_TX_TIMEOUT_MS). */
  dbTimeouts: DbTimeouts;
  /** Wall-clock ms a graceful shutdown waits for calls in flight before leaving them to lease expiry. */
  shutdownGraceMs: number;
}

function number(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`${name} must be a number ≥ ${min}, got '${raw}'`);
  return value;
}

const outcomeKinds: readonly SimOutcomeKind[] = [
  'answer',
  'busy',
  'no-answer',
  'voicemail',
  'unavailable',
  'invalid',
];

function parseRates(raw: string | undefined): Partial<Record<SimOutcomeKind, number>> {
  const rates: Partial<Record<SimOutcomeKind, number>> = {};
  for (const part of (raw ?? '').split(',').filter(Boolean)) {
    const [kind, value] = part.split('=').map((x) => x.trim());
    if (!outcomeKinds.includes(kind as SimOutcomeKind) || !(Number(value) >= 0)) {
      throw new Error(
        `SIM_RATES: '${part}' must be <outcome>=<weight> with outcome one of ${outcomeKinds.join(', ')}`,
      );
    }
    rates[kind as SimOutcomeKind] = Number(value);
  }
  return rates;
}

export function loadConfig(env: Env = process.env): Config {
  const telephony = (env.TELEPHONY_DRIVER ?? 'sim').toLowerCase();
  if (telephony !== 'sim' && telephony !== 'sip')
    throw new Error(`TELEPHONY_DRIVER must be sim or sip, got '${telephony}'`);
  return {
    host: env.HOST ?? '127.0.0.1',
    port: number(env, 'PORT', 8080),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR ?? './data/pglite',
    clockSpeed: number(env, 'CLOCK_SPEED', 1, 0.001),
    clockAnchor: number(env, 'CLOCK_ANCHOR', Date.now()),
    clockStart: number(env, 'CLOCK_START', number(env, 'CLOCK_ANCHOR', Date.now())),
    telephony,
    simSeed: env.SIM_SEED ?? 'ringcast',
    simDialLog: env.SIM_DIAL_LOG || undefined,
    simRates: parseRates(env.SIM_RATES),
    simKeyRate: env.SIM_KEY_RATE ? number(env, 'SIM_KEY_RATE', 0.3) : undefined,
    nodeId: env.NODE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    leaseRealMs: number(env, 'LEASE_MS', 30_000, 100),
    pollMs: number(env, 'POLL_MS', 200, 5),
    maxCallsPerNode: number(env, 'MAX_CALLS_PER_NODE', 500, 1),
    trustProxy: env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true',
    logLevel: env.LOG_LEVEL ?? 'info',
    dbTimeouts: {
      connectMs: number(env, 'DB_CONNECT_TIMEOUT_MS', defaultDbTimeouts.connectMs, 100),
      queryMs: number(env, 'DB_QUERY_TIMEOUT_MS', defaultDbTimeouts.queryMs, 100),
      idleInTransactionMs: number(env, 'DB_IDLE_TX_TIMEOUT_MS', defaultDbTimeouts.idleInTransactionMs, 100),
    },
    // Below Docker's default 10 s stop timeout, so a container stop is a graceful one.
    shutdownGraceMs: number(env, 'SHUTDOWN_GRACE_MS', 8_000, 0),
  };
}
