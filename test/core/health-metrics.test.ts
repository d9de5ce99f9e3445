/**
 * Operator endpoints (issue 17): /health/live, /health/ready with a 503 for each failing check, real
 * 404s off the API, and a /metrics scrape whose call counters equal the records after a campaign.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRingcast } from '../../src/app.ts';
import { ScaledClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/db.ts';
import { createMediaService } from '../../src/media/service.ts';
import { LogTransport } from '../../src/sms/log-transport.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import type { DriverTelemetry } from '../../src/telephony/driver.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';
import { proxiedTestDb } from '../helpers/faulty-proxy.ts';
import type { TestService } from '../helpers/harness.ts';
import {
  newAccountClient,
  numbers,
  startService,
  usingPostgres,
  waitFor,
  withOverrides,
} from '../helpers/harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function started(options: Parameters<typeof startService>[0] = {}): Promise<TestService> {
  const service = await startService(options);
  cleanups.push(() => service.close());
  return service;
}

async function get(service: { ring: TestService['ring'] }, url: string) {
  const response = await service.ring.server.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.body, json: () => response.json() };
}

/** Sample values of one metric from the Prometheus text, by label set ('' without labels). */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) found.set(m[1] ?? '', Number(m[2]));
  }
  return found;
}

describe('health endpoints', () => {
  it('live 200; ready 200 once the engine loops tick; ready 503 while the engine is not running', async () => {
    const service = await started();
    expect((await get(service, '/health/live')).status).toBe(200);
    await waitFor('every loop ticked', async () =>
      Object.values(service.ring.engine.loopStats).every((s) => s.ticks > 0),
    );
    const ready = await get(service, '/health/ready');
    expect(ready.status, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, engine: { ok: true } },
    });

    const idle = await started({ start: false });
    const notRunning = await get(idle, '/health/ready');
    expect(notRunning.status).toBe(503);
    expect(notRunning.json()).toMatchObject({
      checks: { engine: { ok: false, detail: 'engine not running' } },
    });
  }, 120_000);

  it('ready 503 when a loop has not ticked for longer than its bound', async () => {
    const service = await started();
    await waitFor('dialer ticked', async () => (service.ring.engine.loopStats.dialer?.ticks ?? 0) > 0);
    // As if the dialer's last good tick were a minute ago (a loop stuck on a dead dependency).
    const stats = service.ring.engine.loopStats.dialer!;
    const real = stats.lastTickAt;
    Object.defineProperty(stats, 'lastTickAt', {
      get: () => Date.now() - 60_000,
      set: () => {},
      configurable: true,
    });
    const stuck = await get(service, '/health/ready');
    Object.defineProperty(stats, 'lastTickAt', { value: real, writable: true, configurable: true });
    expect(stuck.status).toBe(503);
    expect(stuck.json().checks.engine.detail).toMatch(/dialer/);
  }, 120_000);

  it('ready 503 when the SIP transport is down or the SMSC link is down (when configured)', async () => {
    const telemetry: DriverTelemetry = { up: false, responsesByCode: new Map(), rtpLost: 0, rtpLate: 0 };
    let smpp: 'up' | 'idle' | 'down' = 'down';
    const sms = Object.assign(new LogTransport(silentLogger), { health: () => smpp });
    const service = await started({
      driver: (clock) => Object.assign(new SimDriver(clock, { seed: 't' }), { telemetry: () => telemetry }),
      sms,
    });
    await waitFor('every loop ticked', async () =>
      Object.values(service.ring.engine.loopStats).every((s) => s.ticks > 0),
    );
    const down = await get(service, '/health/ready');
    expect(down.status).toBe(503);
    expect(down.json().checks).toMatchObject({ sip: { ok: false }, smpp: { ok: false } });
    telemetry.up = true;
    smpp = 'idle';
    const up = await get(service, '/health/ready');
    expect(up.status, up.body).toBe(200);
    expect(up.json().checks).toMatchObject({ sip: { ok: true }, smpp: { ok: true, detail: 'idle' } });
  }, 120_000);

  it('unknown paths off the API are HTTP 404; unknown API paths keep the 200 envelope', async () => {
    const service = await started({ start: false });
    for (const url of ['/healthz', '/metricz', '/nothing/here'])
      expect((await get(service, url)).status).toBe(404);
    const api = await get(service, '/voice/nothing');
    expect(api.status).toBe(200);
    expect(api.json()).toMatchObject({ status: '-24' });
    const metrics = await get(service, '/metrics');
    expect(metrics.status).toBe(200);
  }, 120_000);

  it.skipIf(!usingPostgres)(
    'database black-holed: ready answers 503 within its bound; back up: 200 again',
    async () => {
      const { proxy, url } = await proxiedTestDb(cleanups);
      const clock = new ScaledClock(100, Date.now(), Date.parse('2026-11-25T02:00:00Z'));
      const db = await openDb({
        databaseUrl: url,
        poolSize: 4,
        timeouts: { connectMs: 1_000, queryMs: 1_000, idleInTransactionMs: 5_000 },
      });
      const ring = await createRingcast(
        withOverrides(loadConfig({ READY_DB_TIMEOUT_MS: '500' }), {
          engine: { pollMs: 10, leaseRealMs: 20_000, shutdownGraceMs: 500 },
          server: { logLevel: 'silent' },
        }),
        {
          db,
          clock,
          driver: new SimDriver(clock, { seed: 'ready' }),
          media: createMediaService({ warmUp: false }),
          sms: new LogTransport(silentLogger),
          log: pino({ level: 'silent' }),
        },
      );
      cleanups.push(() => ring.close());
      ring.engine.start();
      await waitFor('ready', async () => (await get({ ring }, '/health/ready')).status === 200);
      proxy.blackhole();
      const before = performance.now();
      const down = await get({ ring }, '/health/ready');
      const took = performance.now() - before;
      expect(down.status).toBe(503);
      expect(down.json().checks.database).toMatchObject({ ok: false, detail: 'no answer within 500 ms' });
      // The bound plus scheduling slack on a loaded machine, far below any probe's timeout.
      expect(took).toBeLessThan(3_000);
      expect((await get({ ring }, '/health/live')).status).toBe(200);
      proxy.restore();
      await waitFor('ready again', async () => (await get({ ring }, '/health/ready')).status === 200, 30_000);
    },
    60_000,
  );
});

describe('/metrics', () => {
  it('after a sim campaign, the call counters equal the records', async () => {
    const service = await started({ sim: { seed: 'metrics' } });
    const { send } = await newAccountClient(service, {
      maxConcurrency: 40,
      callsPerSecond: 100,
    });
    const taskIds = [
      await send({ taskName: 'metrics-1', numberList: numbers(60, '4470001') }),
      await send({ taskName: 'metrics-2', numberList: numbers(40, '4470002') }),
    ];
    await waitFor(
      'every call recorded',
      async () => {
        const [row] = await service.db.query<{ open: string }>(
          `SELECT count(*) AS open FROM calls WHERE task_id = ANY($1::int[]) AND state <> 'done'`,
          [taskIds],
        );
        return Number(row?.open) === 0;
      },
      60_000,
    );
    const records = await service.db.query<{ call_status: number; n: string }>(
      `SELECT call_status, count(*) AS n FROM calls WHERE task_id = ANY($1::int[]) GROUP BY call_status`,
      [taskIds],
    );
    const scrape = await get(service, '/metrics');
    expect(scrape.status).toBe(200);
    const settled = samples(scrape.body, 'ringcast_calls_settled_total');
    const expected = new Map(records.map((r) => [`{callStatus="${r.call_status}"}`, Number(r.n)]));
    expect(settled).toEqual(expected);
    expect(samples(scrape.body, 'ringcast_calls_started_total').get('')).toBe(100);
    expect(samples(scrape.body, 'ringcast_calls_in_flight').get('')).toBe(0);
    expect(samples(scrape.body, 'ringcast_lease_takeovers_total').get('')).toBe(0);
    const depth = samples(scrape.body, 'ringcast_outbox_depth');
    expect([...depth.keys()].sort()).toEqual(['{outbox="push"}', '{outbox="sms"}']);
    // Every request above was timed, under its route pattern.
    expect(scrape.body).toMatch(
      /ringcast_http_request_duration_seconds_count\{method="POST",route="\/voice\/group\/call\/send",status="200"\} 2/,
    );
    console.info(
      `metrics after 100 calls: ${[...settled].map(([k, v]) => `${k}=${v}`).join(' ')}; records ${records.map((r) => `${r.call_status}:${r.n}`).join(' ')}`,
    );
  }, 90_000);
});

describe('deploy/grafana-dashboard.json', () => {
  it('every panel queries a metric the service exports', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dashboard = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'grafana-dashboard.json'), 'utf8'),
    ) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const service = await started({ start: false });
    const exported = new Set(
      [...(await get(service, '/metrics')).body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]),
    );
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = [...target.expr.matchAll(/ringcast_[a-z_]+/g)].map((m) =>
          m[0].replace(/_(bucket|count|sum)$/, ''),
        );
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${name} in ${target.expr}`).toContain(name);
      }
    }
  }, 120_000);
});

describe('request ids', () => {
  it('a sane X-Request-Id is kept and echoed; anything else is replaced', async () => {
    const service = await started({ start: false });
    const kept = await service.ring.server.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'lb-1234.abc' },
    });
    expect(kept.headers['x-request-id']).toBe('lb-1234.abc');
    const replaced = await service.ring.server.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': `bad id\n${'x'.repeat(100)}` },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  }, 120_000);
});
