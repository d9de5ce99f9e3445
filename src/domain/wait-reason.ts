/**
 * Why a task is not dialling right now, and when it next may ([ours] `waitReason`, `nextDialAt` in task
 * detail and query). Without it a task outside its allowed hours, paused, held by its account's limits or
 * waiting for its next recall round reads the same as one that dials.
 *
 *   paused      status 5: nothing is dialled until it is resumed
 *   send_time   status 0 and its sendTime is still ahead
 *   window      outside every allowSendTime window: dials again at the next opening
 *   weekday     not one of the task's weekdays (spec §8)
 *   blackout    one of the task's blackoutDates
 *   legal       outside the account's legal window in the callees' zone
 *               (with windowZone "callee" or a legal window, every callee callable now is deferred: the
 *               reason and time of the one deferred the least)
 *   concurrency the account's calls in flight are at its maxConcurrency
 *   cps         the account's calls-per-second budget is spent for this moment
 *   round_due   the task ended and its recall flow's next round starts at nextDialAt
 *   null        dialling (or only waiting for calls in flight to end)
 */

import { type Constraint, DeferReason, deferReason, nextAllowed } from './calling-rules.ts';
import { refillTokens } from './pacing.ts';
import type { SendWindow } from './task-settings.ts';
import { TaskStatus } from './task-status.ts';

export const WaitReason = Object.freeze({
  window: 'window',
  weekday: 'weekday',
  blackout: 'blackout',
  legal: 'legal',
  paused: 'paused',
  concurrency: 'concurrency',
  cps: 'cps',
  roundDue: 'round_due',
  sendTime: 'send_time',
} as const);
export type WaitReasonValue = (typeof WaitReason)[keyof typeof WaitReason];

export interface WaitFacts {
  now: number;
  status: number;
  sendTime: number | null;
  windows: readonly SendWindow[];
  /** The task's weekdays and blackout dates when read in the account's zone. */
  days?: { weekdays?: readonly number[] | undefined; blackoutDates?: readonly string[] | undefined };
  zone: string;
  /** Callees to be dialled now. */
  hasDue: boolean;
  /** No callee callable now, some deferred by the calling rules: the one deferred the least. */
  firstDeferred?: { until: number; reason: string } | null;
  account: {
    inFlight: number;
    maxConcurrency: number;
    callsPerSecond: number;
    tokens: number;
    tokensAt: number | null;
  };
  /** An ended task whose flow's next round is pending: when that round is due (null = not yet known). */
  nextRound: { dueAt: number | null } | null;
}

export interface Wait {
  waitReason: WaitReasonValue | null;
  nextDialAt: number | null;
}

const dialling: Wait = { waitReason: null, nextDialAt: null };

export function waitOf(f: WaitFacts): Wait {
  switch (f.status) {
    case TaskStatus.paused:
      return { waitReason: WaitReason.paused, nextDialAt: null };
    case TaskStatus.finished:
    case TaskStatus.cancelled:
      return f.nextRound ? { waitReason: WaitReason.roundDue, nextDialAt: f.nextRound.dueAt } : dialling;
    case TaskStatus.waiting:
      if (f.sendTime !== null && f.sendTime > f.now) {
        return { waitReason: WaitReason.sendTime, nextDialAt: f.sendTime };
      }
      break;
    case TaskStatus.calling:
      break;
    default:
      return dialling;
  }
  if (!f.hasDue) {
    if (!f.firstDeferred) return dialling;
    return { waitReason: f.firstDeferred.reason as WaitReasonValue, nextDialAt: f.firstDeferred.until };
  }
  const own: Constraint[] = [
    { rules: { windows: f.windows, ...f.days }, zones: [f.zone], windowReason: DeferReason.window },
  ];
  const reason = deferReason(own, f.now);
  if (reason !== null) {
    return { waitReason: reason, nextDialAt: nextAllowed(own, f.now) };
  }
  if (f.account.inFlight >= f.account.maxConcurrency) {
    return { waitReason: WaitReason.concurrency, nextDialAt: null };
  }
  const tokens = refillTokens({ ...f.account, now: f.now });
  if (tokens < 1) {
    const waitMs = Math.ceil(((1 - tokens) / f.account.callsPerSecond) * 1000);
    return { waitReason: WaitReason.cps, nextDialAt: f.now + waitMs };
  }
  return dialling;
}
