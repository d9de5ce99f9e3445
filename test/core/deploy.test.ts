/**
 * Running it in production (issue 17): the compiled build runs a task without tsx; the compose file,
 * the Dockerfile, the systemd unit and .env.example are checked against what the service needs.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allConfigVariables } from '../../src/config.ts';
import { httpApi, until } from '../helpers/service-process.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('production build', () => {
  let child: ChildProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'ringcast-prod-'));
  afterAll(async () => {
    // npm runs the service through a shell: killing npm alone left both running (an idle engine and
    // ~500 MB per test run, found still polling after CI). npm leads its own process group (detached),
    // and the whole group is killed at once.
    if (child?.pid !== undefined) {
      const running = child.exitCode === null && child.signalCode === null;
      const exited = running ? new Promise((resolve) => child!.once('exit', resolve)) : null;
      // Even when npm has exited, the service it started may still run in the group.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('npm run build, then npm run start:prod (node on dist/, no tsx) runs a task to the end', async () => {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
    expect(existsSync(join(root, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(root, 'dist', 'media', 'espeak-worker.js'))).toBe(true);
    const port = 23_000 + Math.floor(Math.random() * 2000);
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !(allConfigVariables as readonly string[]).includes(key)),
    );
    // The start:prod script itself, as an operator runs it; NODE_OPTIONS cleared so no loader sneaks in.
    child = spawn('npm', ['run', '--silent', 'start:prod'], {
      cwd: root,
      detached: true,
      env: {
        ...clean,
        NODE_OPTIONS: '',
        PORT: String(port),
        DATA_DIR: join(work, 'pglite'),
        TTS_CACHE_DIR: join(work, 'tts'),
        CLOCK_SPEED: '100',
        SIM_RATES: 'answer=1,busy=0,no-answer=0,voicemail=0,unavailable=0,invalid=0',
        LOG_LEVEL: 'warn',
      },
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const banner = await until(
      'first-start banner',
      async () => output.includes('Ringcast listening') && /first start: .*— (\{.*\})/.exec(output),
      90_000,
    );
    const account = JSON.parse(banner[1]!) as { apiKey: string; apiSecret: string; appId: number };
    const api = httpApi(port, account);
    const sent = await api<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'prod build',
      source: 3,
      lan: 'en',
      text: 'Hello from the production build',
      numberList: ['447700900001', '447700900002', '447700900003'],
    });
    expect(sent?.status, JSON.stringify(sent)).toBe('0');
    const done = await until(
      'task finished',
      async () => {
        const detail = await api<{ status: number; callNum: number; success: number }>(
          `/voice/group/call/detail/${sent!.data}`,
        );
        return detail?.data?.status === 2 ? detail.data : null;
      },
      90_000,
    );
    expect(done).toMatchObject({ callNum: 3, success: 3 });
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    // No TypeScript loader in the running service.
    expect(
      spawnSync('ps', ['-o', 'args=', '--ppid', String(child.pid)], { encoding: 'utf8' }).stdout,
    ).not.toMatch(/tsx/);
  }, 180_000);
});

describe('deploy files', () => {
  it('.env.example names every variable of the configuration tree, and nothing else', () => {
    const named = new Set([...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect([...named].sort()).toEqual([...allConfigVariables].sort());
  });

  it('Dockerfile: multi-stage, non-root, compiled build without tsx, a readiness HEALTHCHECK', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^RUN npm run build/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health\/ready/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/cli\.js", "serve"\]$/m);
    expect(dockerfile).not.toMatch(/tsx/);
  });

  it('systemd unit: runs the build as its own user, stops with SIGTERM after the grace, no restart loop on a bad config', () => {
    const unit = read('deploy/ringcast.service');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node dist\/cli\.js serve$/m);
    expect(unit).toMatch(/^User=ringcast$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    expect(stopSec * 1000).toBeGreaterThan(8_000 + 1_000);
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
  });

  const composeSchema = {
    type: 'object',
    required: ['services', 'volumes'],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      services: {
        type: 'object',
        required: ['postgres', 'ringcast'],
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: {
            image: { type: 'string' },
            build: {
              type: 'object',
              additionalProperties: false,
              properties: { context: { type: 'string' }, dockerfile: { type: 'string' } },
            },
            environment: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
            volumes: { type: 'array', items: { type: 'string', pattern: '^[a-z-]+:/' } },
            ports: { type: 'array', items: { type: 'string' } },
            depends_on: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                properties: { condition: { enum: ['service_started', 'service_healthy'] } },
              },
            },
            deploy: {
              type: 'object',
              properties: { replicas: { type: ['string', 'integer'] } },
              additionalProperties: false,
            },
            stop_grace_period: { type: 'string', pattern: '^\\d+s$' },
            restart: { enum: ['no', 'always', 'on-failure', 'unless-stopped'] },
            healthcheck: {
              type: 'object',
              required: ['test'],
              additionalProperties: false,
              properties: {
                test: { type: 'array', items: { type: 'string' }, minItems: 2 },
                interval: { type: 'string' },
                timeout: { type: 'string' },
                start_period: { type: 'string' },
                retries: { type: 'integer' },
              },
            },
          },
        },
      },
      volumes: { type: 'object' },
    },
  } as const;

  it('deploy/compose.yaml: PostgreSQL and N replicas, validated (docker compose config, or its schema here)', () => {
    const path = join(root, 'deploy', 'compose.yaml');
    const compose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (compose.status === 0) {
      const checked = spawnSync('docker', ['compose', '-f', path, 'config', '-q'], { encoding: 'utf8' });
      expect(checked.status, checked.stderr).toBe(0);
    } else {
      console.info('docker compose is not installed: the compose file is checked against a schema instead');
    }
    const document = parse(readFileSync(path, 'utf8')) as {
      services: Record<
        string,
        { environment?: Record<string, string>; deploy?: { replicas: string }; volumes?: string[] }
      >;
      volumes: Record<string, unknown>;
    };
    const validate = new Ajv({ allErrors: true }).compile(composeSchema);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    const ringcast = document.services.ringcast!;
    expect(String(ringcast.deploy?.replicas)).toMatch(/^\$\{RINGCAST_REPLICAS:-\d+\}$/);
    // Every setting the replicas get is a variable of the tree, and they share PostgreSQL.
    for (const name of Object.keys(ringcast.environment ?? {}))
      expect(allConfigVariables as readonly string[]).toContain(name);
    expect(ringcast.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(ringcast.environment?.HOST).toBe('0.0.0.0');
    // Named volumes used by services are declared.
    for (const service of Object.values(document.services))
      for (const volume of service.volumes ?? [])
        expect(document.volumes).toHaveProperty(volume.split(':')[0]!);
  });
});
