/**
 * `ringcast` command line: serve (the default `npm start`), account management, migrate, demo.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createRingcast, mediaFromConfig, openConfiguredDb as openDbOf } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirInUseError } from './db/db.ts';
import { countAccounts, createAccount, findAccountByKey, setAccountDisabled } from './db/queries/accounts.ts';
import { setAccountQuotas } from './db/queries/quotas.ts';
import { runDemo } from './demo.ts';
import { checkCallbackUrl } from './domain/callback-url.ts';
import { isValidZone } from './domain/time.ts';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647)
    throw new InvalidArgumentError('must be a whole number from 1 to 2147483647');
  return n;
}

/** Refused here already (and again at every send, on the resolved address): see src/domain/callback-url.ts. */
function callbackUrl(value: string): string {
  const checked = checkCallbackUrl(value, { allowPrivate: loadConfig().server.callbackAllowPrivate });
  if (typeof checked === 'string')
    throw new InvalidArgumentError(
      `the callback URL ${checked}${checked.includes('not a public') || checked.includes('localhost') ? ' (CALLBACK_ALLOW_PRIVATE=1 allows private targets)' : ''}`,
    );
  return checked.toString();
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

async function openConfiguredDb() {
  return openDbOf(loadConfig().db);
}

/**
 * A start-up failure the operator can fix (a bad variable, a port in use, a PGlite folder held by
 * another process) as one line; anything else is a bug and keeps its stack trace.
 */
export function startupFailure(error: unknown): string | null {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) return error.message;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const { address, port } = error as { address?: string; port?: number };
    const what = {
      EADDRINUSE: 'is in use',
      EACCES: 'is not permitted',
      EADDRNOTAVAIL: 'is not an address of this host',
    }[code];
    return `cannot listen on ${address ?? '?'}:${port ?? '?'}: the address ${what}; set PORT/HOST (or ADMIN_PORT, RINGCAST_SIP_LOCAL_PORT, RINGCAST_SIP_REGISTRAR_PORT) to a free one`;
  }
  return null;
}

/**
 * The host's time zone (IANA name), for the account made on the first start: its times in bodies and
 * its allowed hours then read as the operator's wall clock (spec §1 [ours]).
 */
export function hostTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isValidZone(zone) ? zone : 'UTC';
}

/** On the very first start there is no account yet: create one so the API can be tried at once. */
async function ensureFirstAccount(db: import('./db/db.ts').Db) {
  if ((await countAccounts(db)) > 0) return null;
  const timeZone = hostTimeZone();
  const { account: created, app } = await createAccount(
    db,
    {
      name: 'default',
      timeZone,
      ipAllowList: [],
      maxConcurrency: 30,
      callsPerSecond: 10,
      callbackUrl: null,
      requireHmac: false,
    },
    Date.now(),
  );
  return { apiKey: created.api_key, apiSecret: created.api_secret, appId: app.id, timeZone };
}

const program = new Command('ringcast').description('Voice broadcast with automatic redial');

program
  .command('serve', { isDefault: true })
  .description('run the API and the dialing engine')
  .action(async () => {
    const config = loadConfig();
    const media = mediaFromConfig(config);
    await media.ready();
    const ring = await createRingcast(config, { media });
    const firstAccount = await ensureFirstAccount(ring.db);
    // Printed at once: the only copy of the default key must not depend on the rest of the start-up.
    if (firstAccount)
      console.log(
        `first start: created account 'default' in time zone ${firstAccount.timeZone} (times in bodies and allowed hours read in it) — ${JSON.stringify(firstAccount)}`,
      );
    const { host, port } = config.server;
    try {
      await ring.server.listen({ host, port });
    } catch (error) {
      await ring.close();
      throw error;
    }
    ring.engine.start();
    const base = `http://${host}:${port}`;
    const lines = [
      `Ringcast listening on ${base}  (API also under ${base}/v3)`,
      `OpenAPI docs:   ${base}/docs`,
      `database:       ${config.db.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.db.dataDir}`}`,
      `carrier:        ${config.telephony.driver}`,
      `media:          ${media.describe()}`,
      `clock:          ${config.engine.clockSpeed === 1 ? 'real time' : `${config.engine.clockSpeed}x real time`}`,
      'more accounts: npm run ringcast -- account create --name <name>' +
        (config.db.databaseUrl ? '' : ' (with the service stopped: PGlite is single-process)'),
    ];
    console.log(lines.join('\n'));
    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) {
        console.log(`${signal} again: exiting now; calls in flight are left to lease expiry`);
        process.exit(1);
      }
      closing = true;
      console.log(
        `${signal}: finishing calls in flight for up to ${config.engine.shutdownGraceMs} ms, then stopping (again to exit now)`,
      );
      await ring.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  });

const account = program.command('account').description('manage API accounts');
account
  .command('create')
  .description('create an account and its first app; prints apiKey, apiSecret and appId')
  .requiredOption('--name <name>', 'account name')
  .option('--time-zone <zone>', "time zone for times in bodies (IANA name or 'UTC+8')", 'UTC+8')
  .option('--ip-allow <ips>', 'comma-separated IP allow-list (empty = any)', '')
  .option('--max-concurrency <n>', 'concurrent calls', positive, 30)
  .option('--cps <n>', 'calls started per second', positive, 10)
  .option(
    '--callback-url <url>',
    'status-report push URL of the app (http/https, public address)',
    callbackUrl,
  )
  .option('--require-hmac', 'accept only the HMAC-SHA256 signature scheme', false)
  .option('--max-open-tasks <n>', 'quota: open tasks (default QUOTA_OPEN_TASKS)', wholeNumber)
  .option(
    '--max-queued-callees <n>',
    'quota: callees waiting to be called (default QUOTA_QUEUED_CALLEES)',
    wholeNumber,
  )
  .action(
    async (options: {
      name: string;
      timeZone: string;
      ipAllow: string;
      maxConcurrency: number;
      cps: number;
      callbackUrl?: string;
      requireHmac: boolean;
      maxOpenTasks?: number;
      maxQueuedCallees?: number;
    }) => {
      if (!isValidZone(options.timeZone))
        throw new InvalidArgumentError(`unknown time zone '${options.timeZone}'`);
      const db = await openConfiguredDb();
      const { account: created, app } = await createAccount(
        db,
        {
          name: options.name,
          timeZone: options.timeZone,
          ipAllowList: options.ipAllow
            .split(',')
            .map((ip) => ip.trim())
            .filter(Boolean),
          maxConcurrency: Math.floor(options.maxConcurrency),
          callsPerSecond: options.cps,
          callbackUrl: options.callbackUrl ?? null,
          requireHmac: options.requireHmac,
          maxOpenTasks: options.maxOpenTasks ?? null,
          maxQueuedCallees: options.maxQueuedCallees ?? null,
        },
        Date.now(),
      );
      console.log(
        JSON.stringify(
          { accountId: created.id, apiKey: created.api_key, apiSecret: created.api_secret, appId: app.id },
          null,
          2,
        ),
      );
      await db.close();
    },
  );

for (const [name, disabled] of [
  ['disable', true],
  ['enable', false],
] as const) {
  account
    .command(`${name} <apiKey>`)
    .description(`${name} an account (a disabled account is refused and its recall rounds stop)`)
    .action(async (apiKey: string) => {
      const db = await openConfiguredDb();
      const found = await findAccountByKey(db, apiKey);
      if (!found) {
        console.error(`no account with Api-Key ${apiKey}`);
        process.exitCode = 1;
      } else {
        await setAccountDisabled(db, found.id, disabled);
        console.log(`account ${found.id} ${name}d`);
      }
      await db.close();
    });
}

account
  .command('limits <apiKey>')
  .description("sets an account's own quotas ('default' = the service default)")
  .option('--max-open-tasks <n>', "open tasks, or 'default'")
  .option('--max-queued-callees <n>', "callees waiting to be called, or 'default'")
  .action(async (apiKey: string, options: { maxOpenTasks?: string; maxQueuedCallees?: string }) => {
    const quota = (value: string | undefined) =>
      value === undefined ? undefined : value === 'default' ? null : wholeNumber(value);
    const maxOpenTasks = quota(options.maxOpenTasks);
    const maxQueuedCallees = quota(options.maxQueuedCallees);
    const db = await openConfiguredDb();
    const found = await findAccountByKey(db, apiKey);
    if (!found) {
      console.error(`no account with Api-Key ${apiKey}`);
      process.exitCode = 1;
    } else {
      await setAccountQuotas(db, {
        accountId: found.id,
        ...(maxOpenTasks !== undefined ? { maxOpenTasks } : {}),
        ...(maxQueuedCallees !== undefined ? { maxQueuedCallees } : {}),
      });
      console.log(`account ${found.id} quotas updated`);
    }
    await db.close();
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const db = await openConfiguredDb();
    console.log('migrations applied');
    await db.close();
  });

program
  .command('demo')
  .description('run a 1,000-number task with a 3-round recall flow on the simulated carrier')
  .option('--numbers <n>', 'callees', positive, 1000)
  .option('--speed <x>', 'clock speed-up', positive, 600)
  .action(async (options: { numbers: number; speed: number }) => {
    await runDemo({ numbers: Math.floor(options.numbers), speed: options.speed });
  });

try {
  await program.parseAsync();
} catch (error) {
  const line = startupFailure(error);
  if (line === null) throw error;
  console.error(`ringcast: ${line}`);
  process.exit(2);
}
