/**
 * How a finished attempt is reported (spec §3 callStatus):
 * 10 rang, busy · 20 rang, not picked up · 30 not answered, other · 40 voicemail · 50 answered · 60 other.
 * "Failed" (recallType 1, resendType 1, failedPush, counters) is every callStatus except 50.
 */
/** How a call ended, as the telephony driver reports it. */
export interface HangupCause {
  sipCode: number;
  /** Short machine-friendly reason, e.g. 'busy', 'no-answer', 'normal', 'rejected', 'unavailable'. */
  reason: string;
  /** Who ended an answered call. */
  by?: 'callee' | 'us' | 'network';
}

export const CallStatus = Object.freeze({
  busy: 10,
  noAnswer: 20,
  notAnswered: 30,
  voicemail: 40,
  answered: 50,
  other: 60,
} as const);

export type CallStatusValue = (typeof CallStatus)[keyof typeof CallStatus];

export interface AttemptFacts {
  rang: boolean;
  answered: boolean;
  cause: HangupCause;
}

export interface Outcome {
  callStatus: CallStatusValue;
  terminationCode: number;
  terminationReason: string;
}

export function classifyOutcome(facts: AttemptFacts): Outcome {
  const { cause } = facts;
  const base = { terminationCode: facts.answered ? 200 : cause.sipCode, terminationReason: cause.reason };
  if (cause.reason === 'voicemail') return { ...base, callStatus: CallStatus.voicemail };
  if (facts.answered) return { ...base, callStatus: CallStatus.answered };
  if (cause.reason === 'busy' || cause.sipCode === 486 || cause.sipCode === 600) {
    return { ...base, callStatus: CallStatus.busy };
  }
  if (facts.rang && (cause.reason === 'no-answer' || [408, 480, 487].includes(cause.sipCode))) {
    return { ...base, callStatus: CallStatus.noAnswer };
  }
  if (!facts.rang && cause.sipCode >= 400) return { ...base, callStatus: CallStatus.notAnswered };
  return { ...base, callStatus: CallStatus.other };
}

export function isFailed(callStatus: number | null | undefined): boolean {
  return callStatus !== CallStatus.answered;
}

/** The outcome given to an attempt whose process died mid-call (spec §6): never re-dialled that round. */
export const interruptedOutcome: Outcome = {
  callStatus: CallStatus.other,
  terminationCode: 0,
  terminationReason: 'interrupted',
};

/**
 * The outcome of an attempt the carrier driver refused to place (it threw): recorded, never retried in
 * that round, with the driver's message (shortened) as the reason.
 */
export function dialFailedOutcome(error: unknown): Outcome {
  const message = error instanceof Error ? error.message : String(error);
  return {
    callStatus: CallStatus.other,
    terminationCode: 0,
    terminationReason: `dial-failed: ${message}`.slice(0, 200),
  };
}
