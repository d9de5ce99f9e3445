/**
 * `TelephonyDriver` over a SIP trunk (UDP or TCP) with G.711 RTP media.
 *
 * Layers, bottom up: message.ts (parse/serialize) → transport.ts → transaction-client.ts (§17 timers) →
 * user-agent-core.ts (routing, server retransmissions) → call-leg.ts (dialog usage, offer/answer, media).
 * Call control runs on real time: SIP timers and RTP pacing are wall-clock by nature.
 */
import type { CallLeg, DriverTelemetry, OriginateRequest, TelephonyDriver } from '../driver.ts';
import { type LegConfig, SipCallLeg } from './call-leg.ts';
import { parseHostPort } from './message.ts';
import { FrameClock } from './rtp/frame-clock.ts';
import { EncodingCache } from './rtp/g711.ts';
import { PortAllocator } from './rtp/session.ts';
import type { G711Codec } from './sdp.ts';
import { DEFAULT_TIMERS, type SipTimers } from './timers.ts';
import { TcpTransport, UdpTransport } from './transport.ts';
import { UserAgentCore } from './user-agent-core.ts';

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
}

export class SipDriver implements TelephonyDriver {
  readonly name = 'sip';
  private readonly core: Promise<UserAgentCore>;
  private readonly legs = new Set<SipCallLeg>();
  private readonly legConfig: LegConfig;
  private readonly ports: PortAllocator;
  /** One 20 ms tick shared by every stream of this driver. */
  readonly frameClock = new FrameClock();
  private readonly cache = new EncodingCache();
  private opened: UserAgentCore | undefined;
  /** RTP packets lost on legs that have ended (live legs are added at read time). */
  private lostOnEndedLegs = 0;
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
  }

  /** Resolves once the SIP socket is bound; returns the local SIP port (useful with localSipPort 0). */
  async ready(): Promise<number> {
    return (await this.core).transport.localPort;
  }

  originate(request: OriginateRequest): CallLeg {
    return this.originateSip(request);
  }

  /** Same as `originate`, typed as the SIP leg (RTP statistics, negotiated codec). */
  originateSip(request: OriginateRequest): SipCallLeg {
    const leg = new SipCallLeg(
      {
        config: this.legConfig,
        core: this.core,
        ports: this.ports,
        clock: this.frameClock,
        cache: this.cache,
        onEnd: (l) => {
          if (this.legs.delete(l)) this.lostOnEndedLegs += l.rtpStats?.packetsLost ?? 0;
        },
      },
      request,
    );
    this.legs.add(leg);
    return leg;
  }

  get activeLegs(): number {
    return this.legs.size;
  }

  /** Live protocol state (transactions, dialogs, cached responses) plus legs, for metrics and leak checks. */
  async stats(): Promise<{ legs: number; transactions: number; dialogs: number; cachedResponses: number }> {
    return { legs: this.legs.size, ...(await this.core).stats() };
  }

  telemetry(): DriverTelemetry {
    let live = 0;
    for (const leg of this.legs) live += leg.rtpStats?.packetsLost ?? 0;
    return {
      up: this.opened !== undefined && !this.closing,
      responsesByCode: this.opened?.responsesByCode ?? new Map(),
      rtpLost: this.lostOnEndedLegs + live,
      rtpLate: this.frameClock.lateTicks + this.frameClock.droppedTicks,
    };
  }

  private closing = false;

  /** Hangs up every leg (BYE/CANCEL) and closes the socket. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.race([
      Promise.allSettled([...this.legs].map((l) => l.hangup())),
      new Promise((r) => setTimeout(r, 2_000).unref()),
    ]);
    const core = await this.core.catch(() => undefined);
    await core?.close();
  }
}
