/**
 * `TelephonyDriver` over a SIP trunk (UDP or TCP) with G.711 RTP media.
 *
 * Layers, bottom up: message.ts (parse/serialize) → transport.ts → transaction-client.ts (§17 timers) →
 * user-agent-core.ts (routing, server retransmissions) → call-leg.ts (dialog usage, offer/answer, media).
 * Call control runs on real time: SIP timers and RTP pacing are wall-clock by nature.
 */
import type { CallLeg, DriverTelemetry, OriginateRequest, TelephonyDriver } from '../driver.ts';
import { type LegConfig, type LegContext, SipCallLeg } from './call-leg.ts';
import { NO_BODY, parseHostPort } from './message.ts';
import { EncodingCache } from './rtp/g711.ts';
import { LocalMedia, type MediaEngine, type MediaStats } from './rtp/media.ts';
import { WorkerMedia } from './rtp/media-pool.ts';
import { PortAllocator } from './rtp/session.ts';
import type { G711Codec } from './sdp.ts';
import { DEFAULT_TIMERS, type SipTimers } from './timers.ts';
import { TcpTransport, UdpTransport } from './transport.ts';
import {
  DEFAULT_TRUNK_HEALTH,
  type TrunkClock,
  TrunkHealth,
  type TrunkHealthOptions,
  type TrunkLog,
  type TrunkStats,
} from './trunk-health.ts';
import { randomToken, UserAgentCore } from './user-agent-core.ts';

export interface SipDriverConfig {
  trunkHost: string;
  trunkPort: number;
  transport: 'udp' | 'tcp';
  username?: string;
  password?: string;
  /** `host:port` or `sip:host:port`; every request is sent there with a loose Route (RFC 3261 §8.1.2). */
  outboundProxy?: string;
  /** Address we bind and advertise in Via/Contact/SDP. Default 127.0.0.1. */
  localHost?: string;
  /** SIP listening port; 0 = ephemeral. */
  localSipPort?: number;
  /** Inclusive RTP port range; even ports are used. Default 20000-29999. */
  rtpPortRange?: [number, number];
  /** Codec preference order. Default PCMU, PCMA. */
  codecs?: G711Codec[];
  /** RFC 3261 timer base values; only tests should change them. */
  timers?: Partial<SipTimers>;
  /**
   * Worker threads for RTP (0 = on this event loop). Default 0 here; the configuration tree (RINGCAST_SIP_MEDIA_WORKERS) defaults to one
   * per spare core. See rtp/media-pool.ts.
   */
  mediaWorkers?: number;
  /** Sub-ticks per 20 ms frame the streams are spread over. Default 4. */
  mediaSlots?: number;
  /** Trunk back-off (Retry-After, down after N failures, OPTIONS probes); see trunk-health.ts. */
  trunkHealth?: Partial<TrunkHealthOptions>;
  /** Clock of the trunk back-off; the wall clock unless a test injects one. */
  trunkClock?: TrunkClock;
  /** Where trunk pauses, downs and recoveries are logged (pino-compatible). */
  log?: TrunkLog;
}

export class SipDriver implements TelephonyDriver {
  readonly name = 'sip';
  private readonly core: Promise<UserAgentCore>;
  private readonly legs = new Set<SipCallLeg>();
  private readonly legConfig: LegConfig;
  /** What every leg is given; one object for all of them. */
  private readonly legContext: LegContext;
  private readonly ports: PortAllocator;
  private readonly cache = new EncodingCache();
  /** Where RTP runs: staggered 20 ms frame clocks on this thread or in worker threads. */
  readonly media: MediaEngine;
  /** When new calls may go to the trunk (Retry-After pauses, down/probing). */
  readonly trunk: TrunkHealth;
  private opened: UserAgentCore | undefined;
  /** RTP packets lost on legs that have ended (live legs are added at read time). */
  private lostOnEndedLegs = 0;
  /** Late and dropped media ticks as last read from the media engine (read asynchronously: workers). */
  private mediaLateTicks = 0;
  /** Called with a SIP handler error (the composition root logs it). */
  onError: ((error: unknown) => void) | undefined;

  constructor(config: SipDriverConfig) {
    const localHost = config.localHost ?? '127.0.0.1';
    // The address is advertised in Via, Contact and SDP, so it must be one the carrier can send to.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(localHost) || localHost === '0.0.0.0')
      throw new Error(`localHost must be a concrete IPv4 address, got ${localHost}`);
    let outboundProxy: { host: string; port: number } | undefined;
    if (config.outboundProxy) {
      const hp = parseHostPort(config.outboundProxy.replace(/^sips?:/i, '').replace(/;.*$/, ''));
      if (!hp) throw new Error(`bad outboundProxy ${config.outboundProxy}`);
      outboundProxy = { host: hp.host, port: hp.port ?? 5060 };
    }
    const codecs = config.codecs?.length ? config.codecs : (['PCMU', 'PCMA'] as G711Codec[]);
    this.legConfig = {
      trunkHost: config.trunkHost,
      trunkPort: config.trunkPort,
      transport: config.transport,
      username: config.username,
      password: config.password,
      outboundProxy,
      localHost,
      codecs,
    };
    const [min, max] = config.rtpPortRange ?? [20000, 29999];
    this.ports = new PortAllocator(min, max);
    const workers = config.mediaWorkers ?? 0;
    if (!Number.isInteger(workers) || workers < 0 || workers > 32)
      throw new Error(`bad mediaWorkers ${workers}`);
    this.media =
      workers > 0
        ? new WorkerMedia(workers, this.ports, this.cache, config.mediaSlots)
        : new LocalMedia(this.ports, this.cache, config.mediaSlots);
    const timers = { ...DEFAULT_TIMERS, ...config.timers };
    const open = config.transport === 'tcp' ? TcpTransport.open : UdpTransport.open;
    this.core = open({ localHost, localPort: config.localSipPort ?? 0 }).then((t) => {
      const core = new UserAgentCore(t, timers);
      core.onHandlerError = (error) => this.onError?.(error);
      this.opened = core;
      return core;
    });
    // Legs report an open failure as 'unavailable'; this keeps it from surfacing as unhandled.
    this.core.catch(() => {});
    this.trunk = new TrunkHealth(
      { ...DEFAULT_TRUNK_HEALTH, ...config.trunkHealth },
      () => this.probeTrunk(),
      config.log,
      config.trunkClock,
    );
    this.legContext = {
      config: this.legConfig,
      core: this.core,
      media: this.media,
      trunk: this.trunk,
      onEnd: (l) => {
        if (this.legs.delete(l)) this.lostOnEndedLegs += l.rtpStats?.packetsLost ?? 0;
      },
    };
  }

  /** One OPTIONS to the trunk (RFC 3261 §11); resolves with its final status, 408 without one. */
  private async probeTrunk(): Promise<number> {
    const core = await this.core;
    const c = this.legConfig;
    const via = core.newVia();
    const h = core.baseHeaders(
      via.value,
      `<sip:ringcast@${c.localHost}>;tag=${randomToken(6)}`,
      `<sip:${c.trunkHost}:${c.trunkPort}>`,
      `${randomToken(10)}@${c.localHost}`,
      '1 OPTIONS',
    );
    if (c.outboundProxy) h.append('route', `<sip:${c.outboundProxy.host}:${c.outboundProxy.port};lr>`);
    h.append('accept', 'application/sdp');
    const uri = `sip:${c.trunkHost}:${c.trunkPort}${c.transport === 'tcp' ? ';transport=tcp' : ''}`;
    const options = { kind: 'request' as const, method: 'OPTIONS', uri, headers: h, body: NO_BODY };
    const to = c.outboundProxy ?? { host: c.trunkHost, port: c.trunkPort };
    return new Promise((resolve) => {
      core.sendRequest(
        options,
        { ...to },
        {
          onResponse: (r) => {
            if (r.status >= 200) resolve(r.status);
          },
          onTimeout: () => resolve(408),
          onTransportError: () => resolve(503),
        },
      );
    });
  }

  /**
   * Resolves once the SIP socket is bound and the media can take calls without waiting (see
   * MediaEngine.ready); returns the local SIP port (useful with localSipPort 0).
   */
  async ready(): Promise<number> {
    const [core] = await Promise.all([this.core, this.media.ready(this.legConfig.localHost)]);
    return core.transport.localPort;
  }

  originate(request: OriginateRequest): CallLeg {
    return this.originateSip(request);
  }

  /** Same as `originate`, typed as the SIP leg (RTP statistics, negotiated codec). */
  originateSip(request: OriginateRequest): SipCallLeg {
    const leg = new SipCallLeg(this.legContext, request);
    this.legs.add(leg);
    return leg;
  }

  get activeLegs(): number {
    return this.legs.size;
  }

  /**
   * Live protocol state (transactions, dialogs, cached responses) plus legs, for metrics and leak checks,
   * and the trunk's health (open/paused/down, consecutive failures, pauses, downs, probes, waiting calls).
   */
  async stats(): Promise<{
    legs: number;
    transactions: number;
    dialogs: number;
    cachedResponses: number;
    trunk: TrunkStats;
  }> {
    return { legs: this.legs.size, ...(await this.core).stats(), trunk: this.trunk.stats() };
  }

  /** Hangs up every leg (BYE/CANCEL) and closes the socket. */
  telemetry(): DriverTelemetry {
    let live = 0;
    for (const leg of this.legs) live += leg.rtpStats?.packetsLost ?? 0;
    void this.media
      .stats()
      .then((stats) => {
        this.mediaLateTicks = stats.lateTicks;
      })
      .catch(() => {});
    return {
      up: this.opened !== undefined && !this.closing,
      responsesByCode: this.opened?.responsesByCode ?? new Map(),
      rtpLost: this.lostOnEndedLegs + live,
      rtpLate: this.mediaLateTicks,
    };
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    this.trunk.close();
    await Promise.race([
      Promise.allSettled([...this.legs].map((l) => l.hangup())),
      new Promise((r) => setTimeout(r, 2_000).unref()),
    ]);
    const core = await this.core.catch(() => undefined);
    await core?.close();
    await this.media.close();
  }

  /** RTP totals and frame-clock timing (ticks, late ticks, p99 lateness) across this driver's media. */
  mediaStats(): Promise<MediaStats> {
    return this.media.stats();
  }
}
