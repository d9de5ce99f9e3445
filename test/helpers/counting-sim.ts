import type { CallLeg, OriginateRequest, TelephonyDriver } from '../../src/telephony/driver.ts';
import type { SimDriver } from '../../src/telephony/sim/sim-driver.ts';

/** The simulated carrier, remembering which calls it was asked to place (to count real dials). */
export class CountingSim implements TelephonyDriver {
  readonly name = 'counting-sim';
  readonly timing = 'clock' as const;
  readonly dialled: string[] = [];
  constructor(private readonly inner: SimDriver) {}
  originate(request: OriginateRequest): CallLeg {
    this.dialled.push(request.callId);
    return this.inner.originate(request);
  }
  close() {
    return this.inner.close();
  }
}
