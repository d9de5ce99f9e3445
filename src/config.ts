/** Configuration from the environment; every setting has an embedded default (README, "Configuration"). */

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { type DbTimeouts, defaultDbTimeouts } from './db/db.ts';
import { defaultUploadLimits, type UploadLimits } from './media/types.ts';
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
  /** Fastify trustProxy: false, a hop count, or the addresses/CIDRs of the trusted proxies. */
  trustProxy: TrustProxy;
  /** Callback URLs may point at private, loopback and link-local addresses (tests, closed networks). */
  callbackAllowPrivate: boolean;
  /** Status push: per-request time limit, and how many apps one process delivers to at once. */
  push: { timeoutMs: number; maxAppsInFlight: number };
  /** Service-wide defaults of the per-account quotas (an account row may override them). */
  quotas: Quotas;
  uploads: UploadLimits;
  logLevel: string;
  /** PostgreSQL bounds (DB_CONNECT_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS, DB_IDLE_TX_TIMEOUT_MS). */
  dbTimeouts: DbTimeouts;
  /** Wall-clock ms a graceful shutdown waits for calls in flight before leaving them to lease expiry. */
  shutdownGraceMs: number;
}

export type TrustProxy = false | number | string[];

export interface Quotas {
  /** Tasks waiting, calling, paused or submitting at once. */
  openTasks: number;
  /** Callees of open tasks not yet called (queued or in flight). */
  queuedCallees: number;
}

export const defaultQuotas: Quotas = { openTasks: 1_000, queuedCallees: 2_000_000 };

/**
 * TRUST_PROXY: unset/0/false = use the socket address; a hop count N = trust the N proxies nearest to
 * us (the client is the address N entries from the end of X-Forwarded-For); or a comma list of proxy
 * addresses/CIDRs. `true` used to trust every hop, which let a client name its own address: refused.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? '').trim();
  if (value === '' || value === '0' || value === 'false') return false;
  if (value === 'true') {
    throw new Error(
      'TRUST_PROXY=true would trust every X-Forwarded-For hop (a client could name its own IP); set the number of proxies in front of Ringcast (e.g. TRUST_PROXY=1) or their addresses (e.g. TRUST_PROXY=10.0.0.5,10.0.1.0/24)',
    );
  }
  if (/^\d+$/.test(value)) return Number(value);
  const list = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of list) {
    const [address, prefix, extra] = item.split('/');
    const family = isIP(address ?? '');
    const prefixOk =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!family || !prefixOk || extra !== undefined)
      throw new Error(`TRUST_PROXY: '${item}' is not a hop count, an IP address or a CIDR`);
  }
  return list;
}

function number(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`${name} must be a number ≥ ${min}, got '${raw}'`);
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new Error(`${name} must be 0 or 1, got '${env[name]}'`);
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
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    callbackAllowPrivate: flag(env, 'CALLBACK_ALLOW_PRIVATE'),
    push: {
      timeoutMs: number(env, 'PUSH_TIMEOUT_MS', 5_000, 100),
      maxAppsInFlight: number(env, 'PUSH_MAX_APPS_IN_FLIGHT', 64, 1),
    },
    quotas: {
      openTasks: number(env, 'QUOTA_OPEN_TASKS', defaultQuotas.openTasks, 1),
      queuedCallees: number(env, 'QUOTA_QUEUED_CALLEES', defaultQuotas.queuedCallees, 1),
    },
    uploads: {
      maxBytes: number(env, 'UPLOAD_MAX_BYTES', defaultUploadLimits.maxBytes, 1024),
      maxDurationMs: number(env, 'UPLOAD_MAX_SECONDS', defaultUploadLimits.maxDurationMs / 1000, 1) * 1000,
      concurrency: number(env, 'UPLOAD_CONCURRENCY', defaultUploadLimits.concurrency, 1),
      perAccount: number(env, 'UPLOAD_PER_ACCOUNT', defaultUploadLimits.perAccount, 1),
      queueSize: number(env, 'UPLOAD_QUEUE', defaultUploadLimits.queueSize, 0),
      queueWaitMs: number(env, 'UPLOAD_QUEUE_WAIT_MS', defaultUploadLimits.queueWaitMs, 100),
      workTimeoutMs: number(env, 'UPLOAD_TIMEOUT_MS', defaultUploadLimits.workTimeoutMs, 100),
    },
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
