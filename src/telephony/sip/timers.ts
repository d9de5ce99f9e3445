/** RFC 3261 §17 timer base values. Tests shrink T1 to run timeout paths quickly; production keeps defaults. */
export interface SipTimers {
  /** RTT estimate, 500 ms. */
  T1: number;
  /** Maximum retransmit interval for non-INVITE requests, 4 s. */
  T2: number;
  /** Maximum time a message remains in the network, 5 s. */
  T4: number;
}

export const DEFAULT_TIMERS: Readonly<SipTimers> = { T1: 500, T2: 4_000, T4: 5_000 };
