/**
 * Prometheus metrics of one Ringcast process (prom-client), served at /metrics. Each process (and each
 * service a test starts) has its own registry. Counters the engine drives are incremented where the
 * event happens; gauges and the counters other layers keep themselves (SIP responses, RTP, TTS) are
 * read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from './clock.ts';
import type { Db } from './db/db.ts';
import { outboxBacklog } from './db/queries/outbox.ts';
import type { DialerEvents } from './engine/dialer.ts';
import type { MediaService } from './media/types.ts';
import type { TelephonyDriver } from './telephony/driver.ts';

export interface MetricSources {
  db: Db;
  clock: Clock;
  driver: TelephonyDriver;
  media: MediaService;
  callsInFlight(): number;
}

/** Adds to a counter the growth of a cumulative value kept elsewhere, so the counter never goes down. */
function follow(
  counter: Counter<string>,
  seen: Map<string, number>,
  labels: Record<string, string>,
  total: number,
) {
  const key = JSON.stringify(labels);
  const delta = total - (seen.get(key) ?? 0);
  if (delta > 0) counter.inc(labels, delta);
  seen.set(key, Math.max(total, seen.get(key) ?? 0));
}

/** A counter that follows a cumulative total kept by another layer, one series per label value. */
interface FollowedCounter {
  name: string;
  help: string;
  label: string;
  /** Each label value's total so far (none when the source keeps no such totals). */
  totals(sources: MetricSources): Iterable<readonly [string, number]>;
}

/** The totals the driver and the media layer keep themselves, read at scrape time. */
const followedCounters: readonly FollowedCounter[] = [
  {
    name: 'ringcast_sip_responses_total',
    help: 'SIP responses received from the carrier, by status code',
    label: 'code',
    totals: ({ driver }) =>
      [...(driver.telemetry?.().responsesByCode ?? [])].map(
        ([code, count]) => [String(code), count] as const,
      ),
  },
  {
    name: 'ringcast_rtp_packets_total',
    help: 'RTP packets lost from the peers (kind="lost") and frames we sent late or dropped (kind="late")',
    label: 'kind',
    totals: ({ driver }) => {
      const telemetry = driver.telemetry?.();
      if (!telemetry) return [];
      return [
        ['lost', telemetry.rtpLost],
        ['late', telemetry.rtpLate],
      ];
    },
  },
  {
    name: 'ringcast_tts_total',
    help: 'Text-to-speech requests: rendered by an engine, or served from the memory or disk cache',
    label: 'result',
    totals: ({ media }) => {
      if (!('stats' in media) || typeof media.stats !== 'function') return [];
      const stats = media.stats() as { ttsRenders: number; ttsMemoryHits: number; ttsDiskHits: number };
      return [
        ['rendered', stats.ttsRenders],
        ['memory-hit', stats.ttsMemoryHits],
        ['disk-hit', stats.ttsDiskHits],
      ];
    },
  },
];

export class RingcastMetrics {
  readonly registry = new Registry();
  readonly callsStarted: Counter<string>;
  readonly callsSettled: Counter<'callStatus'>;
  readonly leaseTakeovers: Counter<string>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private sources: MetricSources | undefined;

  constructor() {
    const registers = [this.registry];
    this.callsStarted = new Counter({
      name: 'ringcast_calls_started_total',
      help: 'Call attempts committed and handed to the carrier (rate() = dial attempts per second)',
      registers,
    });
    this.callsSettled = new Counter({
      name: 'ringcast_calls_settled_total',
      help: 'Call attempts recorded, by callStatus (60 includes attempts settled as interrupted)',
      labelNames: ['callStatus'],
      registers,
    });
    this.leaseTakeovers = new Counter({
      name: 'ringcast_lease_takeovers_total',
      help: 'Calls whose lease expired, settled as interrupted by this process',
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'ringcast_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const inFlight = new Gauge({
      name: 'ringcast_calls_in_flight',
      help: 'Calls this process is running now',
      registers,
      collect: () => {
        if (this.sources) inFlight.set(this.sources.callsInFlight());
      },
    });
    // Both outbox gauges are filled by the first one's collect (metrics are collected in order).
    const age = new Gauge({
      name: 'ringcast_outbox_oldest_due_seconds',
      help: 'Age of the oldest due outbox row (engine clock), by outbox',
      labelNames: ['outbox'],
      registers: [],
    });
    const outboxDepth: Gauge<'outbox'> = new Gauge({
      name: 'ringcast_outbox_depth',
      help: 'Outbox rows not yet delivered, by outbox (push, sms)',
      labelNames: ['outbox'],
      registers,
      collect: async () => {
        if (!this.sources) return;
        const { db, clock } = this.sources;
        for (const [outbox, table] of [
          ['push', 'push_outbox'],
          ['sms', 'sms_outbox'],
        ] as const) {
          // A database that does not answer leaves the last values (readiness reports it).
          const backlog = await Promise.race([
            outboxBacklog(db, table, clock.now()).catch(() => null),
            new Promise<null>((resolve) => setTimeout(resolve, 2_000, null).unref()),
          ]);
          if (!backlog) continue;
          outboxDepth.set({ outbox }, backlog.depth);
          age.set({ outbox }, backlog.oldestDueMs / 1000);
        }
      },
    });
    this.registry.registerMetric(age);
    for (const followed of followedCounters) {
      const seen = new Map<string, number>();
      const counter: Counter<string> = new Counter({
        name: followed.name,
        help: followed.help,
        labelNames: [followed.label],
        registers,
        collect: () => {
          if (!this.sources) return;
          for (const [value, total] of followed.totals(this.sources))
            follow(counter, seen, { [followed.label]: value }, total);
        },
      });
    }
    const pool = new Gauge({
      name: 'ringcast_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, waiting requests); PGlite has none',
      labelNames: ['state'],
      registers,
      collect: () => {
        const stats = this.sources?.db.poolStats?.();
        if (!stats) return;
        pool.set({ state: 'total' }, stats.total);
        pool.set({ state: 'idle' }, stats.idle);
        pool.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }

  /** Where scrape-time values come from (set once the parts exist). */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The engine's hooks. */
  dialerEvents(): DialerEvents {
    return {
      callStarted: () => this.callsStarted.inc(),
      callSettled: (callStatus) => this.callsSettled.inc({ callStatus: String(callStatus) }),
      leaseTakeover: (count, callStatus) => {
        this.leaseTakeovers.inc(count);
        this.callsSettled.inc({ callStatus: String(callStatus) }, count);
      },
    };
  }
}
