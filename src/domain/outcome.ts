/**
 * How a finished attempt is reported (spec §3 callStatus):
 * 10 rang, busy · 20 rang, not picked up · 30 not answered, other · 40 voicemail · 50 answered · 60 other.
 * "Failed" (recallType 1, resendType 1, failedPush, counters) is every callStatus except 50.
 */

/**
 * [ours] Who ended the attempt: the callee (hung up, was busy or declined), the system (our BYE or
 * CANCEL: message finished, maxCalls, ring timeout, task stopped, crash) or the carrier (the network
 * refused or cut the call: 4xx/5xx/6xx other than busy/decline, no response, a Special Information Tone,
 * or a BYE whose Q.850 Reason is not a normal clearing).
 */
export const HangupBy = Object.freeze({ callee: 'callee', system: 'system', carrier: 'carrier' } as const);
export type HangupByValue = (typeof HangupBy)[keyof typeof HangupBy];

/**
 * Why a leg ended, as a driver reports it (src/telephony implements drivers against this type).
 * `sipCode` 200 means it was answered (and later ended normally).
 */
export interface HangupCause {
  sipCode: number;
  /** Short machine-friendly reason, e.g. 'busy', 'no-answer', 'normal', 'rejected', 'unavailable', 'sit-vacant'. */
  reason: string;
  /** Who ended the call, when the driver knows; otherwise derived from the code (see `hangupByOf`). */
  by?: HangupByValue;
}

/** Special Information Tone classes (ITU-T E.180 / Telcordia SR-2275), as terminationReason values. */
export const SitReason = Object.freeze({
  vacant: 'sit-vacant',
  reorder: 'sit-reorder',
  noCircuit: 'sit-no-circuit',
  intercept: 'sit-intercept',
} as const);
export type SitReasonValue = (typeof SitReason)[keyof typeof SitReason];

/** SIT classes whose numbers are dead: never dialled again by a later recall round. */
export const NEVER_RECALL_REASONS: readonly string[] = Object.freeze([SitReason.vacant, SitReason.intercept]);

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
  hangupBy: HangupByValue;
}

/** Who ended a leg when the driver did not say: our CANCEL is 487; busy/decline are the callee's. */
export function hangupByOf(cause: HangupCause): HangupByValue {
  if (cause.by) return cause.by;
  if (cause.sipCode === 487 || cause.reason === 'cancelled' || cause.reason === 'timeout')
    return HangupBy.system;
  if (cause.reason.startsWith('sit-')) return HangupBy.carrier;
  if (['busy', 'rejected', 'voicemail', 'normal'].includes(cause.reason)) return HangupBy.callee;
  if ([486, 600, 603].includes(cause.sipCode)) return HangupBy.callee;
  return HangupBy.carrier;
}

export function classifyOutcome(facts: AttemptFacts): Outcome {
  const { cause } = facts;
  const base = {
    terminationCode: facts.answered ? 200 : cause.sipCode,
    terminationReason: cause.reason,
    hangupBy: hangupByOf(cause),
  };
  // A Special Information Tone (on early or answered media) means nobody was reached: "not answered, other".
  if (cause.reason.startsWith('sit-')) {
    return { ...base, terminationCode: cause.sipCode, callStatus: CallStatus.notAnswered };
  }
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
  hangupBy: HangupBy.system,
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
    hangupBy: HangupBy.system,
  };
}

/** A callee on the account's do-not-call list when its call was about to be dialled (spec §8): never dialled. */
export const dncOutcome: Outcome = {
  callStatus: CallStatus.other,
  terminationCode: 0,
  terminationReason: 'dnc',
  hangupBy: HangupBy.system,
};

/**
 * [ours] A callee whose number reached the account's maxAttemptsPerNumber: recorded and not dialled, so the
 * task can end instead of waiting days for the count to fall.
 */
export const attemptCapOutcome: Outcome = {
  callStatus: CallStatus.other,
  terminationCode: 0,
  terminationReason: 'attempt_cap',
  hangupBy: HangupBy.system,
};
