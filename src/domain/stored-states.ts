/**
 * States stored as text in the database, as data (the way pg-boss keeps its job states): SQL interpolates
 * these constants, and migration 008 holds each column to them with a CHECK constraint.
 *
 *   calls.state:   due ──lease──► dialling ──settle──► done
 *                   │                │
 *                   └──task/flow stopped──► cancelled   (a leased call not yet handed to the carrier too)
 *
 *   outbox state:  queued ──sent──► sent ──receipt──► delivered | failed      (SMS)
 *                  queued ──sent──► sent                                      (status push)
 *                  queued ──rejected or out of attempts──► failed
 *
 * calls.sms_status mirrors the call's hang-up SMS (NULL when none is due): queued, sent, delivered, failed.
 */
export const CallState = Object.freeze({
  due: 'due',
  dialling: 'dialling',
  done: 'done',
  cancelled: 'cancelled',
} as const);
export type CallStateValue = (typeof CallState)[keyof typeof CallState];

export const OutboxState = Object.freeze({
  queued: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  failed: 'failed',
} as const);
export type OutboxStateValue = (typeof OutboxState)[keyof typeof OutboxState];

export const SmsStatus = OutboxState;

/** `'a', 'b'` for an SQL IN list of a constant object's values (values are fixed identifiers, never input). */
export function sqlList(states: Readonly<Record<string, string | number>>): string {
  return Object.values(states)
    .map((value) => (typeof value === 'number' ? String(value) : `'${value}'`))
    .join(', ');
}
