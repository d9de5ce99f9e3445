/**
 * Which hang-up SMS an attempt triggers (spec §4). At most one SMS per attempt per trigger; the outbox
 * enforces that with a unique key, this decides which ones are due and when.
 */
import { CallStatus } from './outcome.ts';
import type { SmsSettings } from './task-settings.ts';

export type SmsTrigger = 'feedback' | 'success' | 'failed' | 'ring';

export interface AttemptForSms {
  callStatus: number;
  rang: boolean;
  answerTime: number | null;
  hangupTime: number;
  /** Every key the callee pressed, in order. */
  keys: readonly string[];
}

export interface DueSms {
  trigger: SmsTrigger;
  /** Epoch ms when it may be sent. */
  sendAt: number;
}

export function smsDueFor(settings: Partial<SmsSettings>, attempt: AttemptForSms): DueSms[] {
  if (settings.hangUpSms !== 1 || !settings.smsContent) return [];
  const due: DueSms[] = [];
  const now = attempt.hangupTime;
  if (settings.feedbackPush === 1 && settings.feedbackValue !== undefined) {
    if (attempt.keys.includes(String(settings.feedbackValue))) due.push({ trigger: 'feedback', sendAt: now });
  }
  if (
    settings.successPush === 1 &&
    attempt.callStatus === CallStatus.answered &&
    attempt.answerTime !== null
  ) {
    // successPushTime counts from the answer; if the call outlasted it, send at hang-up.
    const delayMs = (settings.successPushTime ?? 10) * 1000;
    due.push({ trigger: 'success', sendAt: Math.max(now, attempt.answerTime + delayMs) });
  }
  if (settings.failedPush === 1 && attempt.callStatus !== CallStatus.answered) {
    due.push({ trigger: 'failed', sendAt: now });
  }
  if (settings.ringPush === 1 && attempt.rang) due.push({ trigger: 'ring', sendAt: now });
  return due;
}
