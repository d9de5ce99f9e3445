/**
 * `ringcast` command line: serve (the default `npm start`), account management, migrate, demo.
 */
import { Command, InvalidArgumentError } from 'commander';
import { type AdminCommand, type AdminResult, buildAdminServer, runAdminCommand } from './api/admin.ts';
import { createRingcast, mediaFromConfig, openConfiguredDb as openDbOf } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirInUseError } from './db/db.ts';
import { countAccounts, createAccount } from './db/queries/accounts.ts';
import type { AccountRules } from './db/queries/calling-rules.ts';
import { runDemo } from './demo.ts';
import { checkCallbackUrl } from './domain/callback-url.ts';
import { isValidZone } from './domain/time.ts';
import { SipDriver } from './telephony/sip/sip-driver.ts';

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
  // A bad option noticed in an action (commander reports parse-time ones itself).
  if (error instanceof InvalidArgumentError) return error.message;
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

/** How long closing (listeners, pools, workers) may take after the shutdown grace period ends. */
const STOP_BUDGET_MS = 500;

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
    const adminServer = config.server.admin
      ? buildAdminServer(ring.db, config.server.admin.token, ring.log)
      : null;
    try {
      // The SIP socket opens in the background; a port in use must stop the start like the HTTP one.
      if (ring.driver instanceof SipDriver) await ring.driver.ready();
      await ring.server.listen({ host, port });
      // Loopback only: account administration while the service holds the database.
      await adminServer?.listen({ host: '127.0.0.1', port: config.server.admin?.port ?? 0 });
    } catch (error) {
      await adminServer?.close();
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
      `admin:          ${config.server.admin ? `127.0.0.1:${config.server.admin.port} (ringcast account … goes through it)` : 'off (ADMIN_PORT, ADMIN_TOKEN)'}`,
      'more accounts: npm run ringcast -- account create --name <name>' +
        (config.db.databaseUrl || config.server.admin
          ? ''
          : ' (with the service stopped: PGlite is single-process; or set ADMIN_PORT and ADMIN_TOKEN)'),
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
      // Progress once a second while calls drain.
      const progress = setInterval(
        () => console.log(`${signal}: ${ring.engine.dialer.activeCalls} call(s) still in flight`),
        1_000,
      );
      progress.unref();
      // The stop is bounded whatever closing costs on a starved machine (a container runtime would kill us
      // soon after anyway): what is still closing is left as a second signal leaves it, to lease expiry.
      const deadline = setTimeout(() => {
        console.log(`${signal}: not stopped ${STOP_BUDGET_MS} ms after the grace period; exiting now`);
        process.exit(1);
      }, config.engine.shutdownGraceMs + STOP_BUDGET_MS);
      deadline.unref();
      await adminServer?.close();
      await ring.close();
      clearInterval(progress);
      console.log(`${signal}: stopped`);
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  });

/**
 * Runs an administration command: through the running service's admin listener when ADMIN_PORT is set
 * and it answers (the only way into a PGlite database the service holds), else on the database directly.
 */
async function admin(command: AdminCommand): Promise<void> {
  const config = loadConfig();
  let result: AdminResult | undefined;
  if (config.server.admin) {
    const { port, token } = config.server.admin;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/admin`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(command),
      });
      result = (await response.json()) as AdminResult;
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      // Nothing listening: the service is not running, so the database is ours to open.
      if (code !== 'ECONNREFUSED') throw error;
    }
  }
  if (!result) {
    const db = await openConfiguredDb();
    try {
      result = await runAdminCommand(db, command);
    } finally {
      await db.close();
    }
  }
  if (result.ok) console.log(JSON.stringify(result.data, null, 2));
  else {
    console.error(`ringcast: ${result.error}`);
    process.exitCode = 1;
  }
}

function timeZone(value: string): string {
  if (!isValidZone(value)) throw new InvalidArgumentError(`unknown time zone '${value}'`);
  return value;
}

function ipList(value: string): string[] {
  return value
    .split(',')
    .map((ip) => ip.trim())
    .filter(Boolean);
}

/**
 * A quota: a whole number, or 'default' for the service default (kept as text here: commander turns a
 * parser's null into '', so the action maps it to null).
 */
function quota(value: string): number | 'default' {
  return value === 'default' ? 'default' : wholeNumber(value);
}

function quotaValue(value: number | 'default' | undefined): number | null | undefined {
  return value === 'default' ? null : value;
}

function onOff(value: string): boolean {
  if (value === 'on' || value === 'true' || value === '1') return true;
  if (value === 'off' || value === 'false' || value === '0') return false;
  throw new InvalidArgumentError("must be 'on' or 'off'");
}

const account = program
  .command('account')
  .description(
    'manage API accounts (<account> = account id or Api-Key); with ADMIN_PORT set, through the running service',
  );
account
  .command('create')
  .description('create an account and its first app; prints apiKey, apiSecret and appId')
  .requiredOption('--name <name>', 'account name')
  .option('--time-zone <zone>', "time zone for times in bodies (IANA name or 'UTC+8')", timeZone, 'UTC+8')
  .option('--ip-allow <ips>', 'comma-separated IP allow-list (empty = any)', ipList, [])
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
      ipAllow: string[];
      maxConcurrency: number;
      cps: number;
      callbackUrl?: string;
      requireHmac: boolean;
      maxOpenTasks?: number;
      maxQueuedCallees?: number;
    }) => {
      await admin({
        op: 'create',
        account: {
          name: options.name,
          timeZone: options.timeZone,
          ipAllowList: options.ipAllow,
          maxConcurrency: Math.floor(options.maxConcurrency),
          callsPerSecond: options.cps,
          callbackUrl: options.callbackUrl ?? null,
          requireHmac: options.requireHmac,
          maxOpenTasks: options.maxOpenTasks ?? null,
          maxQueuedCallees: options.maxQueuedCallees ?? null,
        },
      });
    },
  );

account
  .command('list')
  .description('list accounts: id, name, Api-Key, state, open tasks (never secrets)')
  .option('--all', 'include deleted accounts', false)
  .action(async (options: { all: boolean }) => admin({ op: 'list', includeDeleted: options.all }));

account
  .command('show <account>')
  .description('show an account, its limits and its apps')
  .option('--show-secret', 'also print the API secret', false)
  .action(async (ref: string, options: { showSecret: boolean }) =>
    admin({ op: 'show', account: ref, showSecret: options.showSecret }),
  );

account
  .command('update <account>')
  .description(
    "change an account's name, limits, time zone, IP allow-list, HMAC rule, or an app's callback URL",
  )
  .option('--name <name>', 'account name')
  .option('--time-zone <zone>', 'time zone for times in bodies', timeZone)
  .option('--ip-allow <ips>', "comma-separated IP allow-list ('' = any)", ipList)
  .option('--max-concurrency <n>', 'concurrent calls', wholeNumber)
  .option('--cps <n>', 'calls started per second', positive)
  .option('--require-hmac <on|off>', 'accept only the HMAC-SHA256 signature scheme', onOff)
  .option('--max-open-tasks <n>', "quota: open tasks, or 'default'", quota)
  .option('--max-queued-callees <n>', "quota: callees waiting to be called, or 'default'", quota)
  .option('--app <appId>', 'the app whose callback URL --callback-url sets', wholeNumber)
  .option('--callback-url <url>', "the app's status-report push URL ('none' removes it)", (value: string) =>
    value === 'none' ? 'none' : callbackUrl(value),
  )
  .action(
    async (
      ref: string,
      options: {
        name?: string;
        timeZone?: string;
        ipAllow?: string[];
        maxConcurrency?: number;
        cps?: number;
        requireHmac?: boolean;
        maxOpenTasks?: number | 'default';
        maxQueuedCallees?: number | 'default';
        app?: number;
        callbackUrl?: string;
      },
    ) => {
      if ((options.app === undefined) !== (options.callbackUrl === undefined))
        throw new InvalidArgumentError('--app and --callback-url go together');
      const patch = Object.fromEntries(
        Object.entries({
          name: options.name,
          timeZone: options.timeZone,
          ipAllowList: options.ipAllow,
          maxConcurrency: options.maxConcurrency,
          callsPerSecond: options.cps,
          requireHmac: options.requireHmac,
          maxOpenTasks: quotaValue(options.maxOpenTasks),
          maxQueuedCallees: quotaValue(options.maxQueuedCallees),
        }).filter(([, value]) => value !== undefined),
      );
      await admin({
        op: 'update',
        account: ref,
        patch,
        ...(options.app !== undefined
          ? {
              app: {
                id: options.app,
                callbackUrl: options.callbackUrl === 'none' ? null : options.callbackUrl!,
              },
            }
          : {}),
      });
    },
  );

account
  .command('rotate-secret <account>')
  .description('replace the API secret (the old one stops working at once); prints the new one')
  .action(async (ref: string) => admin({ op: 'rotate-secret', account: ref }));

for (const name of ['disable', 'enable'] as const) {
  account
    .command(`${name} <account>`)
    .description(`${name} an account (a disabled account is refused and its recall rounds stop)`)
    .action(async (ref: string) => admin({ op: name, account: ref }));
}

account
  .command('delete <account>')
  .description(
    'remove an account: its keys stop working for good; its records stay (refused while tasks are open)',
  )
  .action(async (ref: string) => admin({ op: 'delete', account: ref }));

account
  .command('limits <account>')
  .description("sets an account's own quotas ('default' = the service default); same as update")
  .option('--max-open-tasks <n>', "open tasks, or 'default'", quota)
  .option('--max-queued-callees <n>', "callees waiting to be called, or 'default'", quota)
  .action(
    async (
      ref: string,
      options: { maxOpenTasks?: number | 'default'; maxQueuedCallees?: number | 'default' },
    ) =>
      admin({
        op: 'update',
        account: ref,
        patch: {
          ...(options.maxOpenTasks !== undefined ? { maxOpenTasks: quotaValue(options.maxOpenTasks) } : {}),
          ...(options.maxQueuedCallees !== undefined
            ? { maxQueuedCallees: quotaValue(options.maxQueuedCallees) }
            : {}),
        },
      }),
  );

program
  .command('app')
  .description('manage apps of an account')
  .command('add <account>')
  .description('add an app to an account; prints its appId')
  .requiredOption('--name <name>', 'app name')
  .option('--callback-url <url>', 'status-report push URL (http/https, public address)', callbackUrl)
  .action(async (ref: string, options: { name: string; callbackUrl?: string }) =>
    admin({ op: 'app-add', account: ref, name: options.name, callbackUrl: options.callbackUrl ?? null }),
  );

account
  .command('rules <account>')
  .description("sets an account's calling rules (spec §8); 'off' turns one off")
  .option('--legal-window <HH:mm-HH:mm>', "calling hours in the callee's local time, or 'off'")
  .option('--max-attempts <count/days>', "at most count attempts per number in days days, or 'off'")
  .action(async (ref: string, options: { legalWindow?: string; maxAttempts?: string }) => {
    const rules: Partial<AccountRules> = {};
    if (options.legalWindow !== undefined) {
      const m = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(options.legalWindow);
      if (options.legalWindow === 'off') rules.legalWindow = null;
      else if (m && m[1] !== m[2] && [m[1], m[2]].every((t) => /^([01]\d|2[0-3]):[0-5]\d$/.test(t!)))
        rules.legalWindow = { strTime: m[1]!, endTime: m[2]! };
      else throw new InvalidArgumentError('--legal-window: must be HH:mm-HH:mm (two different times) or off');
    }
    if (options.maxAttempts !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(options.maxAttempts);
      if (options.maxAttempts === 'off') rules.maxAttemptsPerNumber = null;
      else if (m && Number(m[1]) >= 1 && Number(m[1]) <= 1000 && Number(m[2]) >= 1 && Number(m[2]) <= 366)
        rules.maxAttemptsPerNumber = { count: Number(m[1]), days: Number(m[2]) };
      else throw new InvalidArgumentError('--max-attempts: must be count/days (1-1000/1-366) or off');
    }
    await admin({ op: 'rules', account: ref, rules });
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
