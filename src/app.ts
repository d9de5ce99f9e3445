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
import type { MediaService } from './media/types.ts';
import { createSmsTransport, smsConfigFromEnv } from './sms/index.ts';
import type { SmsTransport } from './sms/transport.ts';
import type { TelephonyDriver } from './telephony/driver.ts';
import { defaultSimOptions, SimDriver } from './telephony/sim/sim-driver.ts';
import { listenRegistrar, registrarConfigFromEnv } from './telephony/sip/registrar.ts';
import { SipDriver, sipConfigFromEnv } from './telephony/sip/sip-driver.ts';

export interface RingcastParts {
  db?: Db;
  clock?: Clock;
  driver?: TelephonyDriver;
  media: MediaService;
  sms?: SmsTransport;
  log?: Logger;
}

export interface Ringcast {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  engine: Engine;
  server: Awaited<ReturnType<typeof buildServer>>;
  media: MediaService;
  /** Stops the API and the engine (waiting up to the shutdown grace for calls in flight) and closes everything. */
  close(): Promise<void>;
}

export async function createRingcast(config: Config, parts: RingcastParts): Promise<Ringcast> {
  const log = parts.log ?? pino({ level: config.logLevel });
  const clock = parts.clock ?? new ScaledClock(config.clockSpeed, config.clockAnchor, config.clockStart);
  const db =
    parts.db ??
    (await openDb(
      config.databaseUrl
        ? { databaseUrl: config.databaseUrl, timeouts: config.dbTimeouts }
        : { dataDir: config.dataDir },
    ));
  await migrate(db);
  const driver =
    parts.driver ??
    (config.telephony === 'sip'
      ? new SipDriver({ ...sipConfigFromEnv(process.env), log: log.child({ component: 'sip-trunk' }) })
      : new SimDriver(clock, {
          seed: config.simSeed,
          rates: { ...defaultSimOptions.rates, ...config.simRates },
          ...(config.simKeyRate !== undefined ? { keyRate: config.simKeyRate } : {}),
          ...(config.simDialLog ? { dialLog: config.simDialLog } : {}),
        }));
  const sms = parts.sms ?? createSmsTransport(smsConfigFromEnv(process.env), log);
  const media = parts.media;
  const engine = new Engine(
    { db, clock, driver, content: new ContentPreparer(db, media), sms, log },
    {
      owner: config.nodeId,
      leaseRealMs: config.leaseRealMs,
      pollMs: config.pollMs,
      maxInFlight: config.maxCallsPerNode,
      push: { ...config.push, allowPrivate: config.callbackAllowPrivate },
    },
  );
  const server = await buildServer({
    db,
    clock,
    media,
    log,
    trustProxy: config.trustProxy,
    quotas: config.quotas,
  });
  // Agents' softphones register here (SIP driver only; RINGCAST_SIP_REGISTRAR_PORT unset = none).
  const registrarAt = config.telephony === 'sip' ? registrarConfigFromEnv(process.env) : null;
  const registrar = registrarAt ? await listenRegistrar(registrarAt, registrationStore(db), clock) : null;
  return {
    config,
    db,
    clock,
    log,
    engine,
    server,
    media,
    async close() {
      await server.close();
      await registrar?.close();
      await engine.stopAndDrain(config.shutdownGraceMs);
      await driver.close();
      await sms.close();
      await media.close();
      await db.close();
    },
  };
}
