/**
 * Probes and metrics for operators: real HTTP status codes here (a probe reads the status line), unlike
 * the API paths, which keep the spec's HTTP 200 envelope.
 *
 * - GET /health/live: the process answers (200).
 * - GET /health/ready: 200 when the database answers a round trip within READY_DB_TIMEOUT_MS, every
 *   engine loop has ticked recently, and the SIP trunk / SMSC transport is up where configured;
 *   503 otherwise, with the failing checks named.
 * - GET /metrics: Prometheus text (src/metrics.ts).
 */
import type { FastifyInstance } from 'fastify';
import { ping } from '../db/queries/health.ts';
import type { LoopStats } from '../engine/loop.ts';
import type { RingcastMetrics } from '../metrics.ts';
import type { DriverTelemetry } from '../telephony/driver.ts';
import type { ApiContext } from './context.ts';

export interface OpsContext {
  metrics: RingcastMetrics;
  readyDbTimeoutMs: number;
  engine: { startedAt: number | null; loopStats: Readonly<Record<string, LoopStats>> };
  telemetry?: () => DriverTelemetry;
  smsHealth?: () => 'up' | 'idle' | 'down';
}

type Check = { ok: boolean; detail?: string };

/** A loop counts as stuck after three intervals plus the longest failure back-off (5 s), at least 10 s. */
export function loopStaleAfterMs(stats: LoopStats): number {
  return Math.max(3 * stats.intervalMs + 5_000, 10_000);
}

async function checkDb(ctx: ApiContext, timeoutMs: number): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(ctx.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, detail: `${Math.round(performance.now() - started)} ms` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function checkEngine(ops: OpsContext, now: number): Check {
  const { startedAt, loopStats } = ops.engine;
  if (startedAt === null) return { ok: false, detail: 'engine not running' };
  const stuck = Object.entries(loopStats)
    .filter(([, stats]) => now - (stats.lastTickAt ?? startedAt) > loopStaleAfterMs(stats))
    .map(([name, stats]) => `${name} (${stats.failures} failed ticks)`);
  return stuck.length ? { ok: false, detail: `loops not ticking: ${stuck.join(', ')}` } : { ok: true };
}

export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext, ops: OpsContext): void {
  const hide = { schema: { hide: true } };
  app.get('/health/live', hide, async (_request, reply) => reply.code(200).send({ status: 'live' }));
  app.get('/health/ready', hide, async (_request, reply) => {
    const checks: Record<string, Check> = {
      database: await checkDb(ctx, ops.readyDbTimeoutMs),
      engine: checkEngine(ops, Date.now()),
    };
    const telemetry = ops.telemetry?.();
    if (telemetry) checks.sip = telemetry.up ? { ok: true } : { ok: false, detail: 'SIP transport not open' };
    const sms = ops.smsHealth?.();
    if (sms)
      checks.smpp = sms === 'down' ? { ok: false, detail: 'SMSC link down' } : { ok: true, detail: sms };
    const ready = Object.values(checks).every((check) => check.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', hide, async (_request, reply) => {
    const text = await ops.metrics.registry.metrics();
    return reply.code(200).type(ops.metrics.registry.contentType).send(text);
  });
}
