/**
 * The one configuration tree (src/config.ts): every variable's bad value stops start-up with one line
 * naming the variable, the value and what is allowed; the README table lists exactly the tree's
 * variables; and the service, started with a bad value, a port in use or a locked PGlite folder,
 * prints one line and no stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allConfigVariables,
  ConfigError,
  type ConfigVariable,
  configVariables,
  loadConfig,
} from '../../src/config.ts';

const root = join(import.meta.dirname, '..', '..');
const sip = { TELEPHONY_DRIVER: 'sip', RINGCAST_SIP_TRUNK: 'trunk.example:5060' };
const smpp = { SMS_DRIVER: 'smpp', SMPP_HOST: 'smsc.example', SMPP_SYSTEM_ID: 'ringcast' };

/** For each variable: a bad value and the settings that make the variable count (null: any text is fine). */
const badValues: Record<ConfigVariable, [string, Record<string, string>] | null> = {
  HOST: ['bad host!', {}],
  PORT: ['http', {}],
  TRUST_PROXY: ['true', {}],
  CALLBACK_ALLOW_PRIVATE: ['yes', {}],
  QUOTA_OPEN_TASKS: ['0', {}],
  QUOTA_QUEUED_CALLEES: ['1e3.5', {}],
  LOG_LEVEL: ['verbose', {}],
  READY_DB_TIMEOUT_MS: ['2s', {}],
  ADMIN_PORT: ['70000', { ADMIN_TOKEN: 'a-long-enough-admin-token' }],
  ADMIN_TOKEN: ['short', { ADMIN_PORT: '9091' }],
  ACCOUNT_CACHE_MS: ['120000', {}],
  SEND_STREAM_MIN_BYTES: ['-1', {}],
  DATABASE_URL: ['mysql://db/ringcast', {}],
  DATA_DIR: null,
  DB_CONNECT_TIMEOUT_MS: ['50', {}],
  DB_QUERY_TIMEOUT_MS: ['-1', {}],
  DB_IDLE_TX_TIMEOUT_MS: ['soon', {}],
  DB_API_POOL_SIZE: ['0', {}],
  CLOCK_SPEED: ['0', {}],
  CLOCK_ANCHOR: ['yesterday', {}],
  CLOCK_START: ['-5', {}],
  NODE_ID: null,
  LEASE_MS: ['10', {}],
  POLL_MS: ['1.5', {}],
  MAX_CALLS_PER_NODE: ['many', {}],
  SETTLE_BATCH_MS: ['5000', {}],
  SETTLE_BATCH_MAX: ['0', {}],
  SHUTDOWN_GRACE_MS: ['NaN', {}],
  PUSH_TIMEOUT_MS: ['Infinity', {}],
  PUSH_MAX_APPS_IN_FLIGHT: ['0x40', {}],
  TELEPHONY_DRIVER: ['pstn', {}],
  SIM_SEED: null,
  SIM_DIAL_LOG: null,
  SIM_RATES: ['answer=lots', {}],
  SIM_KEY_RATE: ['2', {}],
  RINGCAST_SIP_TRUNK: ['trunk.example:99999', { TELEPHONY_DRIVER: 'sip' }],
  RINGCAST_SIP_TRANSPORT: ['tls', sip],
  RINGCAST_SIP_USERNAME: null,
  RINGCAST_SIP_PASSWORD: null,
  RINGCAST_SIP_OUTBOUND_PROXY: ['proxy example', sip],
  RINGCAST_SIP_LOCAL_HOST: ['0.0.0.0', sip],
  RINGCAST_SIP_LOCAL_PORT: ['abc', sip],
  RINGCAST_SIP_RTP_PORTS: ['30000', sip],
  RINGCAST_SIP_CODECS: ['G729', sip],
  RINGCAST_SIP_REGISTRAR_PORT: ['x', sip],
  RINGCAST_SIP_REALM: null,
  SMS_ROUTES: ['{"promo":{"SMS_DRIVER":"http"}}', {}],
  RINGCAST_SIP_MEDIA_WORKERS: ['33', sip],
  RINGCAST_SIP_TRUNK_DOWN_AFTER: ['0', sip],
  RINGCAST_SIP_TRUNK_PROBE_S: ['ten', sip],
  RINGCAST_SIP_MAX_RETRY_AFTER_S: ['-5', sip],
  SMS_DRIVER: ['carrier-pigeon', {}],
  SMS_HTTP_URL: ['ftp://gw/sms', { SMS_DRIVER: 'http' }],
  SMS_HTTP_TOKEN: null,
  SMS_HTTP_TIMEOUT_MS: ['0', { SMS_DRIVER: 'http', SMS_HTTP_URL: 'http://gw/sms' }],
  SMPP_HOST: ['', { SMS_DRIVER: 'smpp', SMPP_SYSTEM_ID: 'ringcast' }],
  SMPP_PORT: ['x', smpp],
  SMPP_SYSTEM_ID: ['', { SMS_DRIVER: 'smpp', SMPP_HOST: 'smsc.example' }],
  SMPP_PASSWORD: null,
  SMPP_SYSTEM_TYPE: null,
  SMPP_BIND_MODE: ['receiver', smpp],
  SMPP_SOURCE_TON: ['7', smpp],
  SMPP_SOURCE_NPI: ['-1', smpp],
  SMPP_DEST_TON: ['one', smpp],
  SMPP_DEST_NPI: ['19', smpp],
  SMPP_DEFAULT_SOURCE: null,
  SMPP_THROUGHPUT: ['0', smpp],
  SMPP_ENQUIRE_LINK_MS: ['-5', smpp],
  SMPP_RESPONSE_TIMEOUT_MS: ['0', smpp],
  SMPP_CONNECT_TIMEOUT_MS: ['ten', smpp],
  UPLOAD_MAX_BYTES: ['20MB', {}],
  UPLOAD_MAX_SECONDS: ['0', {}],
  UPLOAD_CONCURRENCY: ['0', {}],
  UPLOAD_PER_ACCOUNT: ['2.5', {}],
  UPLOAD_QUEUE: ['-1', {}],
  UPLOAD_QUEUE_WAIT_MS: ['99', {}],
  UPLOAD_TIMEOUT_MS: ['x', {}],
  MEDIA_SYSTEM_BINARIES: ['maybe', {}],
  TTS_ENGINE: ['gogle', {}],
  GOOGLE_TTS_API_KEY: ['', { TTS_ENGINE: 'google' }],
  TTS_CACHE_DIR: null,
};

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('configuration tree', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, logLevel: 'info', admin: null });
    expect(config.db).toMatchObject({ databaseUrl: undefined, dataDir: './data/pglite' });
    expect(config.engine).toMatchObject({ pollMs: 200, leaseRealMs: 30_000, shutdownGraceMs: 8_000 });
    expect(config.telephony.driver).toBe('sim');
    expect(config.sms).toEqual({ kind: 'log' });
    expect(config.tts).toEqual({ engine: 'espeak', googleApiKey: undefined, cacheDir: './data/tts-cache' });
    expect(config.media.uploads.maxBytes).toBe(20 * 1024 * 1024);
  });

  it('every variable of the tree has a bad-value case here (or is declared free text)', () => {
    expect(Object.keys(badValues).sort()).toEqual([...allConfigVariables].sort());
  });

  it.each(
    Object.entries(badValues).filter((entry): entry is [string, [string, Record<string, string>]] =>
      Boolean(entry[1]),
    ),
  )('%s: a bad value stops start-up with one line naming it', (name, [value, context]) => {
    const error = errorOf({ ...context, [name]: value });
    expect(error.variable).toBe(name);
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(name);
    // The value is named, except a secret, which is hidden.
    if (value !== '' && name !== 'ADMIN_TOKEN') expect(error.message).toContain(JSON.stringify(value));
    expect(error.allowed.length).toBeGreaterThan(5);
  });

  it('the examples of the issue: NaN port, a misspelt TTS engine', () => {
    expect(errorOf({ ...sip, RINGCAST_SIP_LOCAL_PORT: 'abc' }).message).toBe(
      'configuration: RINGCAST_SIP_LOCAL_PORT="abc" is not allowed; a whole number from 0 to 65535',
    );
    expect(errorOf({ TTS_ENGINE: 'gogle' }).message).toBe(
      'configuration: TTS_ENGINE="gogle" is not allowed; one of espeak, google',
    );
    expect(errorOf({ SMS_DRIVER: 'http' }).message).toBe(
      'configuration: SMS_HTTP_URL is not set; required with SMS_DRIVER=http: an http(s) URL',
    );
  });

  it('a DATABASE_URL password is not echoed', () => {
    expect(errorOf({ DATABASE_URL: 'mysql://u:secret@db/x' }).message).not.toContain('secret');
  });

  it("the README's configuration table names exactly the tree's variables", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration (environment)'));
    const table = section.slice(0, section.indexOf('\n## ', 5));
    const named = new Set(
      table
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])),
    );
    // Variables named in a row's meaning column (e.g. SMPP_* detail) count too.
    for (const m of table.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)) named.add(m[1]);
    expect([...named].sort()).toEqual([...allConfigVariables].sort());
  });

  it('areas: server, db, engine, telephony, sms, media, tts', () => {
    expect(Object.keys(configVariables)).toEqual([
      'server',
      'db',
      'engine',
      'telephony',
      'sms',
      'media',
      'tts',
    ]);
    expect(Object.keys(loadConfig({}))).toEqual([
      'server',
      'db',
      'engine',
      'telephony',
      'sms',
      'smsRoutes', // the sms area's named routes (SMS_ROUTES)
      'media',
      'tts',
    ]);
  });
});

const cli = join(root, 'src', 'cli.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-config-'));
  dirs.push(dir);
  return dir;
}

function serveEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !(allConfigVariables as readonly string[]).includes(key)),
  );
  return { ...clean, TTS_CACHE_DIR: tempDir(), MEDIA_SYSTEM_BINARIES: '0', ...env };
}

function serve(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve'], {
    env: serveEnv(env),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** `serve` as a child while this process keeps running (and keeps serving a port it holds). */
function serveInBackground(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], { env: serveEnv(env) });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (status) => resolve({ status, stderr }));
  });
}

/** Holds a TCP or UDP port on 127.0.0.1 while `use` runs. */
async function holdingPort(protocol: 'tcp' | 'udp', use: (port: number) => Promise<void>): Promise<void> {
  if (protocol === 'tcp') {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      await use((blocker.address() as { port: number }).port);
    } finally {
      blocker.close();
    }
    return;
  }
  const blocker = createSocket('udp4');
  await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
  try {
    await use(blocker.address().port);
  } finally {
    blocker.close();
  }
}

function expectOneLine(result: { status: number | null; stderr: string }, pattern: RegExp) {
  expect(result.status).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

describe('ringcast serve: start-up mistakes in one line', () => {
  it('a bad variable', () => {
    const result = serve({
      DATA_DIR: tempDir(),
      RINGCAST_SIP_LOCAL_PORT: 'abc',
      TELEPHONY_DRIVER: 'sip',
      RINGCAST_SIP_TRUNK: '127.0.0.1',
    });
    expectOneLine(
      result,
      /^ringcast: configuration: RINGCAST_SIP_LOCAL_PORT="abc" is not allowed; a whole number/,
    );
  }, 60_000);

  const portsInUse: Array<{
    name: string;
    protocol: 'tcp' | 'udp';
    env: (port: number) => Record<string, string>;
  }> = [
    { name: 'a port in use', protocol: 'tcp', env: (port) => ({ PORT: String(port) }) },
    {
      name: 'a SIP port in use',
      protocol: 'udp',
      env: (port) => ({
        PORT: '0',
        TELEPHONY_DRIVER: 'sip',
        RINGCAST_SIP_TRUNK: '127.0.0.1:5999',
        RINGCAST_SIP_LOCAL_PORT: String(port),
      }),
    },
  ];
  // A loop rather than it.each: it.each quotes and shortens names given as $name.
  for (const { name, protocol, env } of portsInUse)
    it(name, async () => {
      await holdingPort(protocol, async (port) => {
        const result = await serveInBackground({ DATA_DIR: tempDir(), ...env(port) });
        expectOneLine(
          result,
          new RegExp(`^ringcast: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`),
        );
      });
    }, 90_000);

  it('a PGlite folder held by a live process', () => {
    const dataDir = tempDir();
    // The parent (this test process) is alive: the folder counts as held by it.
    writeFileSync(join(dataDir, 'ringcast.pid'), String(process.pid));
    const result = serve({ DATA_DIR: dataDir });
    expectOneLine(result, /^ringcast: the PGlite data folder .* \(DATA_DIR\) is in use by process \d+/);
  }, 60_000);
});
