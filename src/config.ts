/**
 * The one configuration tree. This module is the only reader of the environment: it validates every
 * variable once, at start-up, with one function per area (server, db, engine, telephony, sms, media,
 * tts), and the typed tree it returns is passed down to whoever needs a part of it.
 *
 * A bad value throws a ConfigError whose message is one line naming the variable, the value and what
 * is allowed; `ringcast serve` prints that line and exits without a stack trace.
 */

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { type DbTimeouts, defaultDbTimeouts } from './db/db.ts';
import { defaultUploadLimits, type UploadLimits } from './media/types.ts';
import type { SmsConfig } from './sms/index.ts';
import type { SimOutcomeKind } from './telephony/sim/sim-driver.ts';
import { parseHostPort } from './telephony/sip/message.ts';
import type { G711Codec } from './telephony/sip/sdp.ts';
import type { SipDriverConfig } from './telephony/sip/sip-driver.ts';

/** Every variable the tree reads, by area. The README table and .env.example are checked against it. */
export const configVariables = {
  server: [
    'HOST',
    'PORT',
    'TRUST_PROXY',
    'CALLBACK_ALLOW_PRIVATE',
    'QUOTA_OPEN_TASKS',
    'QUOTA_QUEUED_CALLEES',
    'LOG_LEVEL',
    'READY_DB_TIMEOUT_MS',
    'ADMIN_PORT',
    'ADMIN_TOKEN',
    'ACCOUNT_CACHE_MS',
    'SEND_STREAM_MIN_BYTES',
  ],
  db: [
    'DATABASE_URL',
    'DATA_DIR',
    'DB_CONNECT_TIMEOUT_MS',
    'DB_QUERY_TIMEOUT_MS',
    'DB_IDLE_TX_TIMEOUT_MS',
    'DB_API_POOL_SIZE',
  ],
  engine: [
    'CLOCK_SPEED',
    'CLOCK_ANCHOR',
    'CLOCK_START',
    'NODE_ID',
    'LEASE_MS',
    'POLL_MS',
    'MAX_CALLS_PER_NODE',
    'SETTLE_BATCH_MS',
    'SETTLE_BATCH_MAX',
    'SHUTDOWN_GRACE_MS',
    'PUSH_TIMEOUT_MS',
    'PUSH_MAX_APPS_IN_FLIGHT',
  ],
  telephony: [
    'TELEPHONY_DRIVER',
    'SIM_SEED',
    'SIM_DIAL_LOG',
    'SIM_RATES',
    'SIM_KEY_RATE',
    'RINGCAST_SIP_TRUNK',
    'RINGCAST_SIP_TRANSPORT',
    'RINGCAST_SIP_USERNAME',
    'RINGCAST_SIP_PASSWORD',
    'RINGCAST_SIP_OUTBOUND_PROXY',
    'RINGCAST_SIP_LOCAL_HOST',
    'RINGCAST_SIP_LOCAL_PORT',
    'RINGCAST_SIP_RTP_PORTS',
    'RINGCAST_SIP_CODECS',
    'RINGCAST_SIP_REGISTRAR_PORT',
    'RINGCAST_SIP_REALM',
    'RINGCAST_SIP_MEDIA_WORKERS',
    'RINGCAST_SIP_TRUNK_DOWN_AFTER',
    'RINGCAST_SIP_TRUNK_PROBE_S',
    'RINGCAST_SIP_MAX_RETRY_AFTER_S',
  ],
  sms: [
    'SMS_DRIVER',
    'SMS_HTTP_URL',
    'SMS_HTTP_TOKEN',
    'SMS_HTTP_TIMEOUT_MS',
    'SMPP_HOST',
    'SMPP_PORT',
    'SMPP_SYSTEM_ID',
    'SMPP_PASSWORD',
    'SMPP_SYSTEM_TYPE',
    'SMPP_BIND_MODE',
    'SMPP_SOURCE_TON',
    'SMPP_SOURCE_NPI',
    'SMPP_DEST_TON',
    'SMPP_DEST_NPI',
    'SMPP_DEFAULT_SOURCE',
    'SMPP_THROUGHPUT',
    'SMPP_ENQUIRE_LINK_MS',
    'SMPP_RESPONSE_TIMEOUT_MS',
    'SMPP_CONNECT_TIMEOUT_MS',
    'SMS_ROUTES',
  ],
  media: [
    'UPLOAD_MAX_BYTES',
    'UPLOAD_MAX_SECONDS',
    'UPLOAD_CONCURRENCY',
    'UPLOAD_PER_ACCOUNT',
    'UPLOAD_QUEUE',
    'UPLOAD_QUEUE_WAIT_MS',
    'UPLOAD_TIMEOUT_MS',
    'MEDIA_SYSTEM_BINARIES',
  ],
  tts: ['TTS_ENGINE', 'GOOGLE_TTS_API_KEY', 'TTS_CACHE_DIR'],
} as const;

export type ConfigArea = keyof typeof configVariables;
export type ConfigVariable = (typeof configVariables)[ConfigArea][number];
export const allConfigVariables: readonly ConfigVariable[] = Object.values(configVariables).flat();

type Env = Record<string, string | undefined>;

/** A configuration mistake, in one line: the variable, the value given and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly variable: ConfigVariable,
    readonly value: string | undefined,
    readonly allowed: string,
  ) {
    super(
      value === undefined
        ? `configuration: ${variable} is not set; ${allowed}`
        : `configuration: ${variable}=${JSON.stringify(value)} is not allowed; ${allowed}`,
    );
    this.name = 'ConfigError';
  }
}

export type TrustProxy = false | number | string[];

export interface Quotas {
  /** Tasks waiting, calling, paused or submitting at once. */
  openTasks: number;
  /** Callees of open tasks not yet called (queued or in flight). */
  queuedCallees: number;
}

/** Bounds how long an account change made by another process (the admin CLI) goes unseen by the API. */
export const defaultAccountCacheMs = 2_000;
export const defaultSendStreamMinBytes = 256 * 1024;

/**
 * RTP worker threads when RINGCAST_SIP_MEDIA_WORKERS is unset: one per core beyond the first, at least two.
 * Media threads mostly wait for their next tick; on a 2-core box a single one was 36-47% busy at 1,000
 * calls and ran 1.6% of its ticks late under load, two ran none late (bench:sip).
 */
export function defaultMediaWorkers(): number {
  return Math.max(2, Math.min(8, availableParallelism() - 1));
}
export const defaultApiPoolSize = 10;

export const defaultQuotas: Quotas = { openTasks: 1_000, queuedCallees: 2_000_000 };

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface ServerConfig {
  host: string;
  port: number;
  /** Fastify trustProxy: false, a hop count, or the addresses/CIDRs of the trusted proxies. */
  trustProxy: TrustProxy;
  /** Callback URLs may point at private, loopback and link-local addresses (tests, closed networks). */
  callbackAllowPrivate: boolean;
  /** Service-wide defaults of the per-account quotas (an account row may override them). */
  quotas: Quotas;
  logLevel: LogLevel;
  /** How long /health/ready waits for the database round trip before answering 503. */
  readyDbTimeoutMs: number;
  /** Administration listener on loopback (account commands while the service runs); null = off. */
  admin: { port: number; token: string } | null;
  /**
   * How long an account looked up by Api-Key is reused (0 = every request reads it). Changes made in
   * this process drop the cache at once; this bounds how long another process's change goes unseen.
   */
  accountCacheMs: number;
  /**
   * PostgreSQL: a send body at least this large (or of unknown length) has its callees COPYed while it
   * is still being read (src/api/streamed-callees.ts); smaller ones are read whole first.
   */
  sendStreamMinBytes: number;
}

export interface DbConfig {
  /** PostgreSQL when set; otherwise the embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** PostgreSQL bounds (DB_CONNECT_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS, DB_IDLE_TX_TIMEOUT_MS). */
  timeouts: DbTimeouts;
  /**
   * PostgreSQL: connections of the API's own pool, apart from the engine's, so requests never queue
   * behind settles. PGlite is one embedded connection that both share.
   */
  apiPoolSize: number;
}

export interface EngineConfig {
  clockSpeed: number;
  /** Wall-clock instant (epoch ms) the sped-up clock is anchored at, so restarts continue one timeline. */
  clockAnchor: number;
  /** What the clock reads at the anchor (default: the anchor itself). */
  clockStart: number;
  nodeId: string;
  leaseRealMs: number;
  pollMs: number;
  maxCallsPerNode: number;
  /** Settling in batches: how long (wall-clock ms) results wait for company, and the most in one batch. */
  settleBatch: { waitMs: number; max: number };
  /** Wall-clock ms a graceful shutdown waits for calls in flight before leaving them to lease expiry. */
  shutdownGraceMs: number;
  /** Status push: per-request time limit, and how many apps one process delivers to at once. */
  push: { timeoutMs: number; maxAppsInFlight: number };
}

export interface SimConfig {
  seed: string;
  /** Optional file where the simulated carrier logs every dial (crash tests). */
  dialLog: string | undefined;
  /** Simulated carrier behaviour, e.g. SIM_RATES='answer=60,busy=10,no-answer=15,voicemail=5,unavailable=7,invalid=3'. */
  rates: Partial<Record<SimOutcomeKind, number>>;
  keyRate: number | undefined;
}

export interface RegistrarConfig {
  localHost: string;
  localPort: number;
  realm: string;
}

export type TelephonyConfig =
  | { driver: 'sim'; sim: SimConfig }
  | { driver: 'sip'; sip: SipDriverConfig; registrar: RegistrarConfig | null };

export interface MediaConfig {
  uploads: UploadLimits;
  preferSystemBinaries: boolean;
}

export interface TtsConfig {
  engine: 'espeak' | 'google';
  googleApiKey: string | undefined;
  cacheDir: string;
}

export interface Config {
  server: ServerConfig;
  db: DbConfig;
  engine: EngineConfig;
  telephony: TelephonyConfig;
  sms: SmsConfig;
  /** [ours] named SMS routes a task may pick with `smsAppId` (SMS_ROUTES); empty = the default route only. */
  smsRoutes: Record<string, SmsConfig>;
  media: MediaConfig;
  tts: TtsConfig;
}

/** Reads variables of one environment; only declared names can be read. */
class Reader {
  constructor(private readonly env: Env) {}

  /** The trimmed value, or undefined when unset or empty. */
  raw(name: ConfigVariable): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  string(name: ConfigVariable, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  required(name: ConfigVariable, when: string, allowed: string): string {
    const value = this.raw(name);
    if (value === undefined) throw new ConfigError(name, undefined, `required with ${when}: ${allowed}`);
    return value;
  }

  number(
    name: ConfigVariable,
    fallback: number,
    rule: { min: number; max?: number; integer?: boolean },
  ): number {
    return this.optionalNumber(name, rule) ?? fallback;
  }

  optionalNumber(
    name: ConfigVariable,
    { min, max = Number.MAX_SAFE_INTEGER, integer = true }: { min: number; max?: number; integer?: boolean },
  ): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    const ok = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) && Number.isFinite(value);
    if (!ok || value < min || value > max || (integer && !Number.isInteger(value))) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new ConfigError(name, raw, `${integer ? 'a whole number' : 'a number'} ${range}`);
    }
    return value;
  }

  flag(name: ConfigVariable, fallback: boolean): boolean {
    const raw = this.raw(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === '0' || raw === 'false') return false;
    if (raw === '1' || raw === 'true') return true;
    throw new ConfigError(name, this.raw(name), 'one of 0, 1, false, true');
  }

  oneOf<T extends string>(name: ConfigVariable, values: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = raw.toLowerCase() as T;
    if (!values.includes(value)) throw new ConfigError(name, raw, `one of ${values.join(', ')}`);
    return value;
  }

  port(name: ConfigVariable, fallback: number, min = 1): number {
    return this.number(name, fallback, { min, max: 65_535 });
  }
}

/**
 * TRUST_PROXY: unset/0/false = use the socket address; a hop count N = trust the N proxies nearest to
 * us (the client is the address N entries from the end of X-Forwarded-For); or a comma list of proxy
 * addresses/CIDRs. `true` used to trust every hop, which let a client name its own address: refused.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? '').trim();
  if (value === '' || value === '0' || value === 'false') return false;
  if (value === 'true')
    throw new ConfigError(
      'TRUST_PROXY',
      value,
      'true would trust every X-Forwarded-For hop (a client could name its own IP); give the hop count of the proxies in front of Ringcast (e.g. TRUST_PROXY=1) or their addresses/CIDRs (e.g. TRUST_PROXY=10.0.0.5,10.0.1.0/24)',
    );
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
      throw new ConfigError('TRUST_PROXY', value, `'${item}' is not a hop count, an IP address or a CIDR`);
  }
  return list;
}

export function validateServer(env: Reader): ServerConfig {
  const host = env.string('HOST', '127.0.0.1');
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host))
    throw new ConfigError('HOST', host, 'an IP address or a host name');
  const adminPort = env.optionalNumber('ADMIN_PORT', { min: 1, max: 65_535 });
  const adminToken = env.raw('ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16)
    throw new ConfigError('ADMIN_TOKEN', '(hidden)', 'at least 16 characters');
  if (adminPort !== undefined && adminToken === undefined)
    throw new ConfigError('ADMIN_TOKEN', undefined, 'required with ADMIN_PORT: at least 16 characters');
  return {
    host,
    port: env.port('PORT', 8080, 0),
    trustProxy: parseTrustProxy(env.raw('TRUST_PROXY')),
    callbackAllowPrivate: env.flag('CALLBACK_ALLOW_PRIVATE', false),
    quotas: {
      openTasks: env.number('QUOTA_OPEN_TASKS', defaultQuotas.openTasks, { min: 1 }),
      queuedCallees: env.number('QUOTA_QUEUED_CALLEES', defaultQuotas.queuedCallees, { min: 1 }),
    },
    logLevel: env.oneOf('LOG_LEVEL', logLevels, 'info'),
    readyDbTimeoutMs: env.number('READY_DB_TIMEOUT_MS', 2_000, { min: 10 }),
    admin: adminPort !== undefined && adminToken ? { port: adminPort, token: adminToken } : null,
    accountCacheMs: env.number('ACCOUNT_CACHE_MS', defaultAccountCacheMs, { min: 0, max: 60_000 }),
    sendStreamMinBytes: env.number('SEND_STREAM_MIN_BYTES', defaultSendStreamMinBytes, { min: 0 }),
  };
}

export function validateDb(env: Reader): DbConfig {
  const databaseUrl = env.raw('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl))
    throw new ConfigError('DATABASE_URL', databaseUrl.replace(/:[^:@/]*@/, ':***@'), 'a postgres:// URL');
  return {
    databaseUrl,
    dataDir: env.string('DATA_DIR', './data/pglite'),
    timeouts: {
      connectMs: env.number('DB_CONNECT_TIMEOUT_MS', defaultDbTimeouts.connectMs, { min: 100 }),
      queryMs: env.number('DB_QUERY_TIMEOUT_MS', defaultDbTimeouts.queryMs, { min: 100 }),
      idleInTransactionMs: env.number('DB_IDLE_TX_TIMEOUT_MS', defaultDbTimeouts.idleInTransactionMs, {
        min: 100,
      }),
    },
    apiPoolSize: env.number('DB_API_POOL_SIZE', defaultApiPoolSize, { min: 1, max: 1_000 }),
  };
}

export function validateEngine(env: Reader): EngineConfig {
  const now = Date.now();
  const clockAnchor = env.number('CLOCK_ANCHOR', now, { min: 0 });
  return {
    clockSpeed: env.number('CLOCK_SPEED', 1, { min: 0.001, integer: false }),
    clockAnchor,
    clockStart: env.number('CLOCK_START', clockAnchor, { min: 0 }),
    nodeId: env.string('NODE_ID', `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`),
    leaseRealMs: env.number('LEASE_MS', 30_000, { min: 100 }),
    pollMs: env.number('POLL_MS', 200, { min: 5 }),
    maxCallsPerNode: env.number('MAX_CALLS_PER_NODE', 500, { min: 1 }),
    settleBatch: {
      waitMs: env.number('SETTLE_BATCH_MS', 5, { min: 0, max: 1_000 }),
      max: env.number('SETTLE_BATCH_MAX', 200, { min: 1, max: 5_000 }),
    },
    // Below Docker's default 10 s stop timeout, so a container stop is a graceful one.
    shutdownGraceMs: env.number('SHUTDOWN_GRACE_MS', 8_000, { min: 0 }),
    push: {
      timeoutMs: env.number('PUSH_TIMEOUT_MS', 5_000, { min: 100 }),
      maxAppsInFlight: env.number('PUSH_MAX_APPS_IN_FLIGHT', 64, { min: 1 }),
    },
  };
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
    if (!outcomeKinds.includes(kind as SimOutcomeKind) || !/^\d+(\.\d+)?$/.test(value ?? '')) {
      throw new ConfigError(
        'SIM_RATES',
        raw,
        `a comma list of <outcome>=<weight ≥ 0>, outcome one of ${outcomeKinds.join(', ')}`,
      );
    }
    rates[kind as SimOutcomeKind] = Number(value);
  }
  return rates;
}

export function validateTelephony(env: Reader): TelephonyConfig {
  const driver = env.oneOf('TELEPHONY_DRIVER', ['sim', 'sip'] as const, 'sim');
  if (driver === 'sim') {
    return {
      driver,
      sim: {
        seed: env.string('SIM_SEED', 'ringcast'),
        dialLog: env.raw('SIM_DIAL_LOG'),
        rates: parseRates(env.raw('SIM_RATES')),
        keyRate: env.optionalNumber('SIM_KEY_RATE', { min: 0, max: 1, integer: false }),
      },
    };
  }
  return { driver, ...validateSip(env) };
}

/** The SIP trunk and the agents' registrar (TELEPHONY_DRIVER=sip; docs/sip.md, docs/agents.md). */
export function validateSip(env: Reader): { sip: SipDriverConfig; registrar: RegistrarConfig | null } {
  const trunkRaw = env.required('RINGCAST_SIP_TRUNK', 'TELEPHONY_DRIVER=sip', 'host[:port]');
  const trunk = parseHostPort(trunkRaw);
  if (!trunk) throw new ConfigError('RINGCAST_SIP_TRUNK', trunkRaw, 'host[:port]');
  const transport = env.oneOf('RINGCAST_SIP_TRANSPORT', ['udp', 'tcp'] as const, 'udp');
  const proxy = env.raw('RINGCAST_SIP_OUTBOUND_PROXY');
  if (proxy !== undefined && !parseHostPort(proxy.replace(/^sips?:/i, '').replace(/;.*$/, '')))
    throw new ConfigError('RINGCAST_SIP_OUTBOUND_PROXY', proxy, 'host[:port] or sip:host[:port]');
  const localHost = env.string('RINGCAST_SIP_LOCAL_HOST', '127.0.0.1');
  // The address is advertised in Via, Contact and SDP, so it must be one the carrier can send to.
  if (isIP(localHost) !== 4 || localHost === '0.0.0.0')
    throw new ConfigError('RINGCAST_SIP_LOCAL_HOST', localHost, 'a concrete IPv4 address (not 0.0.0.0)');
  let rtpPortRange: [number, number] | undefined;
  const rtp = env.raw('RINGCAST_SIP_RTP_PORTS');
  if (rtp !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(rtp);
    const [min, max] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || min < 1024 || max > 65_535 || max - min < 1)
      throw new ConfigError('RINGCAST_SIP_RTP_PORTS', rtp, 'min-max, ports from 1024 to 65535, min < max');
    rtpPortRange = [min, max];
  }
  const codecsRaw = env.raw('RINGCAST_SIP_CODECS');
  const codecs = codecsRaw?.split(',').map((c) => c.trim().toUpperCase());
  if (codecs?.some((c) => c !== 'PCMU' && c !== 'PCMA'))
    throw new ConfigError('RINGCAST_SIP_CODECS', codecsRaw, 'a comma list of PCMU and/or PCMA');
  const registrarPort = env.optionalNumber('RINGCAST_SIP_REGISTRAR_PORT', { min: 1, max: 65_535 });
  const sip: SipDriverConfig = {
    trunkHost: trunk.host,
    trunkPort: trunk.port ?? 5060,
    transport,
    localHost,
  };
  const username = env.raw('RINGCAST_SIP_USERNAME');
  const password = env.raw('RINGCAST_SIP_PASSWORD');
  const localSipPort = env.optionalNumber('RINGCAST_SIP_LOCAL_PORT', { min: 0, max: 65_535 });
  if (username !== undefined) sip.username = username;
  if (password !== undefined) sip.password = password;
  if (proxy !== undefined) sip.outboundProxy = proxy;
  if (localSipPort !== undefined) sip.localSipPort = localSipPort;
  if (rtpPortRange) sip.rtpPortRange = rtpPortRange;
  if (codecs) sip.codecs = codecs as G711Codec[];
  sip.mediaWorkers =
    env.optionalNumber('RINGCAST_SIP_MEDIA_WORKERS', { min: 0, max: 32 }) ?? defaultMediaWorkers();
  const downAfter = env.optionalNumber('RINGCAST_SIP_TRUNK_DOWN_AFTER', { min: 1, max: 1000 });
  const probeS = env.optionalNumber('RINGCAST_SIP_TRUNK_PROBE_S', { min: 1, max: 3600 });
  const maxRetryAfterS = env.optionalNumber('RINGCAST_SIP_MAX_RETRY_AFTER_S', { min: 0, max: 86_400 });
  sip.trunkHealth = {
    ...(downAfter !== undefined ? { failuresToDown: downAfter } : {}),
    ...(probeS !== undefined ? { probeIntervalMs: probeS * 1000 } : {}),
    ...(maxRetryAfterS !== undefined ? { maxPauseMs: maxRetryAfterS * 1000 } : {}),
  };
  return {
    sip,
    registrar:
      registrarPort === undefined
        ? null
        : { localHost, localPort: registrarPort, realm: env.string('RINGCAST_SIP_REALM', 'ringcast') },
  };
}

/** The SMS route (docs/sms.md): a misconfigured carrier fails at start-up, not on the first hang-up SMS. */
export function validateSms(env: Reader): SmsConfig {
  const driver = env.oneOf('SMS_DRIVER', ['log', 'http', 'smpp'] as const, 'log');
  switch (driver) {
    case 'log':
      return { kind: 'log' };
    case 'http': {
      const url = env.required('SMS_HTTP_URL', 'SMS_DRIVER=http', 'an http(s) URL');
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
        throw new ConfigError('SMS_HTTP_URL', url, 'an http(s) URL');
      return {
        kind: 'http',
        url,
        token: env.raw('SMS_HTTP_TOKEN'),
        timeoutMs: env.number('SMS_HTTP_TIMEOUT_MS', 10_000, { min: 1 }),
      };
    }
    case 'smpp':
      return {
        kind: 'smpp',
        host: env.required('SMPP_HOST', 'SMS_DRIVER=smpp', 'the SMSC host name or address'),
        port: env.port('SMPP_PORT', 2775),
        systemId: env.required('SMPP_SYSTEM_ID', 'SMS_DRIVER=smpp', 'the SMPP system_id'),
        password: env.string('SMPP_PASSWORD', ''),
        systemType: env.raw('SMPP_SYSTEM_TYPE'),
        bindMode: env.oneOf('SMPP_BIND_MODE', ['transceiver', 'transmitter'] as const, 'transceiver'),
        sourceTon: env.optionalNumber('SMPP_SOURCE_TON', { min: 0, max: 6 }),
        sourceNpi: env.optionalNumber('SMPP_SOURCE_NPI', { min: 0, max: 18 }),
        destTon: env.number('SMPP_DEST_TON', 1, { min: 0, max: 6 }),
        destNpi: env.number('SMPP_DEST_NPI', 1, { min: 0, max: 18 }),
        defaultSource: env.raw('SMPP_DEFAULT_SOURCE'),
        throughputPerSecond: env.optionalNumber('SMPP_THROUGHPUT', { min: 1 }),
        enquireLinkMs: env.number('SMPP_ENQUIRE_LINK_MS', 30_000, { min: 0 }),
        responseTimeoutMs: env.number('SMPP_RESPONSE_TIMEOUT_MS', 10_000, { min: 1 }),
        connectTimeoutMs: env.number('SMPP_CONNECT_TIMEOUT_MS', 10_000, { min: 1 }),
      };
  }
}

const smsRouteShape =
  'a JSON object of route ids (letters, digits, - and _, up to 64) to their SMS_* / SMPP_* settings, e.g. {"promo":{"SMS_DRIVER":"http","SMS_HTTP_URL":"https://sms.example/send"}}';

/**
 * SMS_ROUTES: each route is configured with the same variables as the default route, in one JSON object,
 * and validated by the same rules; a mistake names the route and the setting.
 */
export function validateSmsRoutes(env: Reader): Record<string, SmsConfig> {
  const raw = env.raw('SMS_ROUTES');
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('SMS_ROUTES', raw, smsRouteShape);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError('SMS_ROUTES', raw, smsRouteShape);
  const routes: Record<string, SmsConfig> = {};
  for (const [id, settings] of Object.entries(parsed)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || settings === null || typeof settings !== 'object')
      throw new ConfigError('SMS_ROUTES', raw, smsRouteShape);
    const values: Env = {};
    for (const [name, value] of Object.entries(settings as Record<string, unknown>)) {
      if (!(configVariables.sms as readonly string[]).includes(name) || name === 'SMS_ROUTES')
        throw new ConfigError(
          'SMS_ROUTES',
          raw,
          `route "${id}": ${name} is not an SMS setting; ${smsRouteShape}`,
        );
      values[name] = String(value);
    }
    try {
      routes[id] = validateSms(new Reader(values));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(
        'SMS_ROUTES',
        raw,
        `route "${id}": ${error.message.replace(/^configuration: /, '')}`,
      );
    }
  }
  return routes;
}

export function validateMedia(env: Reader): MediaConfig {
  return {
    uploads: {
      maxBytes: env.number('UPLOAD_MAX_BYTES', defaultUploadLimits.maxBytes, { min: 1024 }),
      maxDurationMs:
        env.number('UPLOAD_MAX_SECONDS', defaultUploadLimits.maxDurationMs / 1000, { min: 1 }) * 1000,
      concurrency: env.number('UPLOAD_CONCURRENCY', defaultUploadLimits.concurrency, { min: 1 }),
      perAccount: env.number('UPLOAD_PER_ACCOUNT', defaultUploadLimits.perAccount, { min: 1 }),
      queueSize: env.number('UPLOAD_QUEUE', defaultUploadLimits.queueSize, { min: 0 }),
      queueWaitMs: env.number('UPLOAD_QUEUE_WAIT_MS', defaultUploadLimits.queueWaitMs, { min: 100 }),
      workTimeoutMs: env.number('UPLOAD_TIMEOUT_MS', defaultUploadLimits.workTimeoutMs, { min: 100 }),
    },
    preferSystemBinaries: env.flag('MEDIA_SYSTEM_BINARIES', true),
  };
}

export function validateTts(env: Reader): TtsConfig {
  const engine = env.oneOf('TTS_ENGINE', ['espeak', 'google'] as const, 'espeak');
  const googleApiKey = env.raw('GOOGLE_TTS_API_KEY');
  if (engine === 'google' && googleApiKey === undefined)
    throw new ConfigError('GOOGLE_TTS_API_KEY', undefined, 'required with TTS_ENGINE=google');
  return { engine, googleApiKey, cacheDir: env.string('TTS_CACHE_DIR', './data/tts-cache') };
}

/** Validates the whole environment once; throws the first ConfigError. */
export function loadConfig(env: Env = process.env): Config {
  const reader = new Reader(env);
  return {
    server: validateServer(reader),
    db: validateDb(reader),
    engine: validateEngine(reader),
    telephony: validateTelephony(reader),
    sms: validateSms(reader),
    smsRoutes: validateSmsRoutes(reader),
    media: validateMedia(reader),
    tts: validateTts(reader),
  };
}
