/** What codes and states mean, in words (the console never shows a bare code or a raw API path). */
import { canCancelWholeFlow } from '../../src/domain/recall-flow.ts';
import { editableStatuses, endedStatuses, TaskTransition } from '../../src/domain/task-status.ts';

export const taskStatusWords: Record<number, string> = {
  0: 'waiting',
  1: 'calling',
  2: 'finished',
  3: 'submission failed',
  4: 'cancelled',
  5: 'paused',
  6: 'submitting',
};

export const flowStatusWords: Record<number, string> = {
  0: 'pending',
  1: 'in progress',
  2: 'completed',
  3: 'cancelled',
  4: 'exception',
};

export const callStatusWords: Record<number, string> = {
  10: 'busy',
  20: 'rang, not picked up',
  30: 'not answered',
  40: 'voicemail',
  50: 'answered',
  60: 'other',
};

const codeWords: Record<string, string> = {
  '-1': 'Not signed in: the API key or secret was refused',
  '-2': "This computer's IP address is not in the account's allow-list",
  '-10': 'Insufficient balance',
  '-16': "This computer's clock is more than 5 minutes off",
  '-18': 'The service had an internal error',
  '-20': 'That name is already taken',
  '-21': 'Not accepted',
  '-22': 'Please check the input',
  '-23': 'A limit was reached',
  '-24': 'Not found',
  '-34': 'There is nobody to call again',
  '-41': 'Not possible in the current state',
};

/** "Please check the input: taskName: must NOT have fewer than 2 characters (code -22)" */
export function errorInWords(code: string, reason: string): string {
  const words = codeWords[code] ?? 'The request failed';
  return `${words}: ${reason} (code ${code})`;
}

/** The task actions the state machine (src/domain/task-status.ts) allows in `status`. */
export function taskActions(status: number, round: number) {
  const can = (name: keyof typeof TaskTransition) =>
    (TaskTransition[name].from as readonly number[]).includes(status);
  return {
    pause: can('pause'),
    resume: can('resume'),
    cancel: can('cancel'),
    edit: round === 0 && editableStatuses.includes(status),
    resend: endedStatuses.includes(status),
  };
}

export const flowActions = (status: number) => ({ cancel: canCancelWholeFlow(status), edit: status === 0 });

/** 'yyyy-MM-dd HH:mm:ss' → 'HH:mm' (same day) or 'MM-dd HH:mm'. */
function shortTime(wire: string, today: string | null): string {
  const [date, time] = wire.split(' ');
  const hhmm = (time ?? '').slice(0, 5);
  return today && date === today ? hhmm : `${(date ?? '').slice(5)} ${hhmm}`;
}

export interface Waiting {
  status: number;
  waitReason?: string | null;
  nextDialAt?: string | null;
  outRecallCount?: number;
}

/**
 * What a task is waiting for, from the API's `waitReason` and `nextDialAt` ([ours], in the account's zone),
 * e.g. "allowed hours start 09:00 UTC+8", "paused", "round 2 due 14:05". Null when the task is not waiting
 * or the API does not say (then only the status is shown).
 */
export function waitInWords(task: Waiting, zone: string, today: string | null = null): string | null {
  const reason = task.waitReason;
  if (!reason) return null;
  const at = task.nextDialAt ? shortTime(task.nextDialAt, today) : null;
  const when = (prefix: string) => (at ? `${prefix} ${at} ${zone}` : prefix);
  switch (reason) {
    case 'window':
      return when('allowed hours start');
    case 'paused':
      return 'paused';
    case 'concurrency':
      return "at the account's limit of calls at once";
    case 'cps':
      return "at the account's calls-per-second limit";
    case 'round_due':
      return at
        ? `round ${(task.outRecallCount ?? 0) + 1} due ${at}`
        : `round ${(task.outRecallCount ?? 0) + 1} due`;
    case 'send_time':
      return when('send time');
    case 'weekday':
      return when('next allowed day starts');
    case 'blackout':
      return when('blackout date; calls resume');
    case 'legal':
      return when('legal calling hours start');
    default:
      return reason;
  }
}
