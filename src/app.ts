/** Composition: one process = database + API + engine, from a Config. */
import pino, { type Logger } from 'pino';
import { buildServer } from './api/server.ts';
import { type Clock, ScaledClock } from './clock.ts';
import type { Config } from './config.ts';
import { type Db, openDb } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { registrationStore } from './db/queries/agents.ts';
import { ContentPreparer } from './engine/content.ts';
import { Engine } from './engine/engine.ts';
import { createMediaService, type RingcastMediaService } from './media/service.ts';
import type { MediaService } from './media/types.ts';
import { RingcastMetrics } from './metrics.ts';
import { createSmsTransport } from './sms/index.ts';
import { RoutedSmsTransport, smsRouteIds } from './sms/routed-transport.ts';
import type { SmsTransport } from './sms/transport.ts';
import type { TelephonyDriver } from './telephony/driver.ts';
import { defaultSimOptions, SimDriver } from './telephony/sim/sim-driver.ts';
import { listenRegistrar } from './telephony/sip/registrar.ts';
import { SipDriver } from './telephony/sip/sip-driver.ts';

export interface RingcastParts {
  db?: Db;
  /** The API's database handle (default: its own pool of `db`, DB_API_POOL_SIZE; PGlite: `db` itself). */
  apiDb?: Db;
  clock?: Clock;
  driver?: TelephonyDriver;
  media: MediaService;
  sms?: SmsTransport;
  log?: Logger;
  /** Validate every API answer against its response schema (the test suite turns this on). */
  checkResponses?: boolean;
}

export interface Ringcast {
  config: Config;
  /** The engine's (and migrations') connections. */
  db: Db;
  /** The API's connections, apart from the engine's so requests never queue behind settles. */
  apiDb: Db;
  clock: Clock;
  log: Logger;
  engine: Engine;
  server: Awaited<ReturnType<typeof buildServer>>;
  media: MediaService;
  metrics: RingcastMetrics;
  driver: TelephonyDriver;
  /** Stops the API and the engine (waiting up to the shutdown grace for calls in flight) and closes everything. */
  close(): Promise<void>;
}

/**
 * The process logger: JSON lines (one per event) for log collectors, or pino-pretty's readable lines
 * when stdout is a terminal.
 */
export function createLogger(level: string): Logger {
  return process.stdout.isTTY
    ? pino({ level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } })
    : pino({ level });
}

const idleTelemetry = { up: false, responsesByCode: new Map(), rtpLost: 0, rtpLate: 0 };

/** The media service (TTS and uploads) of the configuration's media and tts areas. */
export function mediaFromConfig(config: Pick<Config, 'media' | 'tts'>): RingcastMediaService {
  return createMediaService({
    tts: config.tts.engine,
    ...(config.tts.googleApiKey ? { googleApiKey: config.tts.googleApiKey } : {}),
    cacheDir: config.tts.cacheDir,
    preferSystemBinaries: config.media.preferSystemBinaries,
    uploads: config.media.uploads,
  });
}

/** Opens the configured database (PostgreSQL when DATABASE_URL is set, else PGlite) and migrates it. */
export async function openConfiguredDb(config: Config['db']): Promise<Db> {
  const db = await openDb(
    config.databaseUrl
      ? { databaseUrl: config.databaseUrl, timeouts: config.timeouts }
      : { dataDir: config.dataDir },
  );
  await migrate(db);
  return db;
}

export async function createRingcast(config: Config, parts: RingcastParts): Promise<Ringcast> {
  const { engine: engineConfig, server: serverConfig, telephony } = config;
  const log = parts.log ?? createLogger(serverConfig.logLevel);
  const clock =
    parts.clock ??
    new ScaledClock(engineConfig.clockSpeed, engineConfig.clockAnchor, engineConfig.clockStart);
  const db = parts.db ?? (await openConfiguredDb(config.db));
  if (parts.db) await migrate(db);
  const apiDb = parts.apiDb ?? (await db.separatePool(config.db.apiPoolSize));
  const driver: TelephonyDriver =
    parts.driver ??
    (telephony.driver === 'sip'
      ? new SipDriver({ ...telephony.sip, log: log.child({ component: 'sip-trunk' }) })
      : new SimDriver(clock, {
          seed: telephony.sim.seed,
          rates: { ...defaultSimOptions.rates, ...telephony.sim.rates },
          ...(telephony.sim.keyRate !== undefined ? { keyRate: telephony.sim.keyRate } : {}),
          ...(telephony.sim.dialLog ? { dialLog: telephony.sim.dialLog } : {}),
        }));
  const sms =
    parts.sms ??
    (Object.keys(config.smsRoutes).length === 0
      ? createSmsTransport(config.sms, log)
      : new RoutedSmsTransport(
          createSmsTransport(config.sms, log),
          new Map(
            Object.entries(config.smsRoutes).map(([id, route]) => [id, createSmsTransport(route, log)]),
          ),
        ));
  const media = parts.media;
  const metrics = new RingcastMetrics();
  if (driver instanceof SipDriver) {
    driver.onError = (error) => log.error({ err: error }, 'SIP message handler failed; message dropped');
    const trunk = telephony.driver === 'sip' ? `${telephony.sip.trunkHost}:${telephony.sip.trunkPort}` : '';
    driver.ready().then(
      (port) => log.info({ trunk, localPort: port }, 'SIP trunk transport up'),
      (error: unknown) =>
        log.error({ err: error, trunk }, 'SIP trunk transport down: the socket did not open'),
    );
  }
  const engine = new Engine(
    { db, clock, driver, content: new ContentPreparer(db, media), sms, log, events: metrics.dialerEvents() },
    {
      owner: engineConfig.nodeId,
      leaseRealMs: engineConfig.leaseRealMs,
      pollMs: engineConfig.pollMs,
      maxInFlight: engineConfig.maxCallsPerNode,
      settleBatch: engineConfig.settleBatch,
      push: { ...engineConfig.push, allowPrivate: serverConfig.callbackAllowPrivate },
    },
  );
  metrics.bind({ db, clock, driver, media, callsInFlight: () => engine.dialer.activeCalls });
  const server = await buildServer(
    {
      db: apiDb,
      accountCacheMs: serverConfig.accountCacheMs,
      sendStreamMinBytes: serverConfig.sendStreamMinBytes,
      clock,
      media,
      log,
      trustProxy: serverConfig.trustProxy,
      quotas: serverConfig.quotas,
      checkResponses: parts.checkResponses ?? false,
      smsRoutes: smsRouteIds(sms),
    },
    {
      metrics,
      readyDbTimeoutMs: serverConfig.readyDbTimeoutMs,
      engine,
      ...(driver.telemetry ? { telemetry: () => driver.telemetry?.() ?? idleTelemetry } : {}),
      ...(sms.health ? { smsHealth: () => sms.health?.() ?? 'idle' } : {}),
    },
  );
  // Agents' softphones register here (SIP driver only; RINGCAST_SIP_REGISTRAR_PORT unset = none).
  const registrarAt = telephony.driver === 'sip' ? telephony.registrar : null;
  const registrar = registrarAt ? await listenRegistrar(registrarAt, registrationStore(db), clock) : null;
  return {
    config,
    db,
    apiDb,
    clock,
    log,
    engine,
    server,
    media,
    metrics,
    driver,
    async close() {
      await server.close();
      await registrar?.close();
      await engine.stopAndDrain(engineConfig.shutdownGraceMs);
      await driver.close();
      await sms.close();
      await media.close();
      // A PGlite "separate pool" is the database itself; its close leaves that to `db`.
      if (apiDb !== parts.apiDb) await apiDb.close();
      await db.close();
    },
  };
}
