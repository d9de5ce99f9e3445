/**
 * The callee list of a task request (spec §3), as the API reads it and as the console checks an uploaded
 * list before sending: the same function and the same rule text on both sides.
 */
import { ApiError, invalid, ResultCode } from './errors.ts';

export const maxNumbersPerTask = 200_000;
export const calleeNumberRule = 'must be 6-18 digits with country code';

export type NumberInfo = { calleeNumber: string } & Record<string, unknown>;

export interface CalleeEntry {
  callee: string;
  info: Record<string, string> | null;
}

/**
 * How many numbers one request may carry: none is bad input (-22, `field` with `emptyReason`), more than
 * `max` is a limit reached ("at most `max` numbers per `per`").
 */
export function checkNumberCount(
  count: number,
  rule: { field: string; max: number; per: string; emptyReason: string },
): void {
  if (count === 0) throw invalid(rule.field, rule.emptyReason);
  if (count > rule.max) {
    throw new ApiError(ResultCode.limitReached, `${rule.field}: at most ${rule.max} numbers per ${rule.per}`);
  }
}

/** The number as stored ('+' stripped), or the -22 error for entry `index`. */
export function checkCalleeNumber(value: unknown, index: number, list = 'numberInfoList'): string {
  const number = String(value).replace(/^\+/, '');
  if (!/^[0-9]{6,18}$/.test(number)) {
    throw invalid(
      list === 'numberList' || list === 'numbers' ? `${list}[${index}]` : `${list}[${index}].calleeNumber`,
      calleeNumberRule,
    );
  }
  return number;
}

/** text1..text10 cut to 30 characters; null when the entry has none. */
export function calleeTexts(entry: Record<string, unknown>): Record<string, string> | null {
  let info: Record<string, string> | null = null;
  for (let n = 1; n <= 10; n++) {
    const value = entry[`text${n}`];
    if (value === undefined || value === null) continue;
    info ??= {};
    info[`text${n}`] = String(value).slice(0, 30);
  }
  return info;
}

/**
 * The callee list from `numberInfoList` (or the old `numberList`): '+' stripped, text1..text10 cut to
 * 30 characters, and a number listed twice kept once (the first), so no one is called twice.
 */
export function readCallees(body: { numberInfoList?: NumberInfo[]; numberList?: string[] }): CalleeEntry[] {
  const list: NumberInfo[] =
    body.numberInfoList ?? body.numberList?.map((calleeNumber) => ({ calleeNumber })) ?? [];
  const listName = body.numberInfoList ? 'numberInfoList' : 'numberList';
  checkNumberCount(list.length, {
    field: 'numberInfoList',
    max: maxNumbersPerTask,
    per: 'task',
    emptyReason: 'is required (at least one number)',
  });
  const seen = new Set<string>();
  const callees: CalleeEntry[] = [];
  for (const [index, entry] of list.entries()) {
    const number = checkCalleeNumber(entry.calleeNumber, index, listName);
    if (seen.has(number)) continue;
    seen.add(number);
    callees.push({ callee: number, info: calleeTexts(entry) });
  }
  return callees;
}
