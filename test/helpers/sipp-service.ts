/** The engine dialling SIPp as its carrier: the preamble of the end-to-end SIP tests. */
import { SipDriver } from '../../src/telephony/sip/sip-driver.ts';
import { runSipp, type SippOptions, type SippRun, waitForPort } from '../sip/sipp.ts';
import { startService, type TestService } from './harness.ts';

export interface ServiceThroughSipp {
  sipp: SippRun;
  service: TestService;
  /** Stops SIPp (if it still runs) and the service. */
  close(): Promise<void>;
}

/**
 * SIPp as the carrier on `sipPort` (its media on `mediaPort`, control on `controlPort`: by default
 * sipPort + 4 and + 9), listening before the service starts, and a service on a `clockSpeed` clock whose
 * engine dials it through the SIP driver, RTP on `rtpPortRange`.
 */
export async function serviceThroughSipp(options: {
  sipp: Omit<SippOptions, 'sipPort' | 'mediaPort' | 'controlPort'>;
  sipPort: number;
  mediaPort?: number;
  controlPort?: number;
  rtpPortRange: [number, number];
  clockSpeed: number;
  /** Our address in Via/Contact/SDP, where the test names it. */
  localHost?: string;
}): Promise<ServiceThroughSipp> {
  const { sipPort } = options;
  const sipp = runSipp({
    ...options.sipp,
    sipPort,
    mediaPort: options.mediaPort ?? sipPort + 4,
    controlPort: options.controlPort ?? sipPort + 9,
  });
  let service: TestService;
  try {
    await waitForPort(sipPort, 'udp');
    service = await startService({
      clockSpeed: options.clockSpeed,
      driver: new SipDriver({
        trunkHost: '127.0.0.1',
        trunkPort: sipPort,
        transport: 'udp',
        ...(options.localHost ? { localHost: options.localHost } : {}),
        rtpPortRange: options.rtpPortRange,
      }),
    });
  } catch (error) {
    sipp.stop();
    throw error;
  }
  return {
    sipp,
    service,
    async close() {
      sipp.stop();
      await sipp.done;
      await service.close();
    },
  };
}
