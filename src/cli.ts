/**
 * `ringcast` command line: serve (the default `npm start`), account management, migrate, demo.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createRingcast } from './app.ts';
import { loadConfig } from './config.ts';
import { openDb } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { countAccounts, createAccount, findAccountByKey, setAccountDisabled } from './db/queries/accounts.ts';
import { type AccountRules, setAccountRules } from './db/queries/calling-rules.ts';
import { setAccountQuotas } from './db/queries/quotas.ts';
import { runDemo } from './demo.ts';
import { checkCallbackUrl } from './domain/callback-url.ts';
import { isValidZone } from './domain/time.ts';
import { mediaFromEnv } from './media/from-env.ts';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647)
    throw new InvalidArgumentError('must be a whole number from 1 to 2147483647');
  return n;
}

/** Refused here already (and again at every send, on the resolved address): see src/domain/callback-url.ts. */
function callbackUrl(value: string): string {
  const checked = checkCallbackUrl(value, { allowPrivate: loadConfig().callbackAllowPrivate });
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
  const config = loadConfig();
  const db = await openDb(
    config.databaseUrl
      ? { databaseUrl: config.databaseUrl, timeouts: config.dbTimeouts }
      : { dataDir: config.dataDir },
  );
  await migrate(db);
  return db;
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
    const media = mediaFromEnv(process.env, config.uploads);
    await media.ready();
    const ring = await createRingcast(config, { media });
    const firstAccount = await ensureFirstAccount(ring.db);
    await ring.server.listen({ host: config.host, port: config.port });
    ring.engine.start();
    const base = `http://${config.host}:${config.port}`;
    const lines = [
      `Ringcast listening on ${base}  (API also under ${base}/v3)`,
      `OpenAPI docs:   ${base}/docs`,
      `database:       ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`}`,
      `carrier:        ${config.telephony}`,
      `media:          ${media.describe()}`,
      `clock:          ${config.clockSpeed === 1 ? 'real time' : `${config.clockSpeed}x real time`}`,
      'more accounts: npm run ringcast -- account create --name <name>' +
        (config.databaseUrl ? '' : ' (with the service stopped: PGlite is single-process)'),
    ];
    if (firstAccount) {
      lines.push(
        `first start: created account 'default' in time zone ${firstAccount.timeZone} (times in bodies and allowed hours read in it) — ${JSON.stringify(firstAccount)}`,
      );
    }
    console.log(lines.join('\n'));
    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) {
        console.log(`${signal} again: exiting now; calls in flight are left to lease expiry`);
        process.exit(1);
      }
      closing = true;
      console.log(
        `${signal}: finishing calls in flight for up to ${config.shutdownGraceMs} ms, then stopping (again to exit now)`,
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

account
  .command('rules <apiKey>')
  .description("sets an account's calling rules (spec §8); 'off' turns one off")
  .option('--legal-window <HH:mm-HH:mm>', "calling hours in the callee's local time, or 'off'")
  .option('--max-attempts <count/days>', "at most count attempts per number in days days, or 'off'")
  .action(async (apiKey: string, options: { legalWindow?: string; maxAttempts?: string }) => {
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
    const db = await openConfiguredDb();
    const found = await findAccountByKey(db, apiKey);
    if (!found) {
      console.error(`no account with Api-Key ${apiKey}`);
      process.exitCode = 1;
    } else {
      const now = Date.now();
      const set = await db.transaction((tx) => setAccountRules(tx, { accountId: found.id, rules, now }));
      console.log(`account ${found.id} calling rules: ${JSON.stringify(set)}`);
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

await program.parseAsync();
