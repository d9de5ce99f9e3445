/**
 * Calling rules that protect callees (spec §8): windows, weekdays and blackout dates in a zone, the
 * account's legal window in the callee's zone, the callee's zone(s) from the number, and the next moment a
 * call is allowed. Pure: the number-to-zone table is handed in (loaded once by the caller).
 *
 * A moment is allowed in a zone when its local date is an allowed weekday and not a blackout date, its
 * local time lies in one of the windows (none = all day) and in the legal window. A callee with several
 * possible zones (an ambiguous number) is allowed only when it is allowed in every one of them: the
 * intersection, so a call is never placed at night for any of them.
 */
import { DateTime } from 'luxon';
import type { SendWindow } from './task-settings.ts';

/** Why a callee is not called now, most lasting first: the task detail's waitReason. */
export const DeferReason = Object.freeze({
  blackout: 'blackout',
  weekday: 'weekday',
  legal: 'legal',
  window: 'window',
} as const);
export type DeferReasonValue = (typeof DeferReason)[keyof typeof DeferReason];

export interface ZoneRules {
  /** allowSendTime: up to three 'HH:mm' ranges; empty = all day. A range ending before it starts runs past midnight. */
  windows: readonly SendWindow[];
  /** ISO weekdays 1 (Monday) .. 7 (Sunday); absent or empty = every day. */
  weekdays?: readonly number[] | undefined;
  /** 'YYYY-MM-DD' local dates on which nobody is called. */
  blackoutDates?: readonly string[] | undefined;
}

/** One set of rules read in some zones: a task's rules (account or callee zones) or the legal window. */
export interface Constraint {
  rules: ZoneRules;
  zones: readonly string[];
  /** The reason reported when only the windows block (the legal window reports 'legal'). */
  windowReason: DeferReasonValue;
}

/** Minutes since midnight of an 'HH:mm' time. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Whether the minute of the day lies in the window (one ending before it starts runs past midnight). */
export function inWindow(minute: number, window: SendWindow): boolean {
  const start = minutesOf(window.strTime);
  const end = minutesOf(window.endTime);
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** Why `rules` block the moment `epochMs` in `zone`, or null when it is allowed. */
export function blockedBy(
  rules: ZoneRules,
  zone: string,
  epochMs: number,
  windowReason: DeferReasonValue = DeferReason.window,
): DeferReasonValue | null {
  const local = DateTime.fromMillis(epochMs, { zone });
  if (rules.blackoutDates?.includes(local.toISODate() ?? '')) return DeferReason.blackout;
  if (rules.weekdays && rules.weekdays.length > 0 && !rules.weekdays.includes(local.weekday)) {
    return DeferReason.weekday;
  }
  if (rules.windows.length === 0) return null;
  const minute = local.hour * 60 + local.minute;
  return rules.windows.some((window) => inWindow(minute, window)) ? null : windowReason;
}

/** Days searched ahead for an allowed moment: a year of blackout dates still finds the next one. */
const horizonDays = 400;

/**
 * The first moment at or after `epochMs` allowed by `rules` in `zone`, or null within the horizon.
 * Allowed time is a union of intervals, each opening at a day's start or a window's start; those are the
 * only candidates looked at, day by day (luxon resolves a wall-clock time inside a DST gap forward).
 */
export function nextAllowedIn(rules: ZoneRules, zone: string, epochMs: number): number | null {
  if (blockedBy(rules, zone, epochMs) === null) return epochMs;
  const today = DateTime.fromMillis(epochMs, { zone }).startOf('day');
  const starts = rules.windows.map((window) => minutesOf(window.strTime));
  for (let offset = 0; offset <= horizonDays; offset++) {
    const day = today.plus({ days: offset });
    const date = day.toISODate() ?? '';
    if (rules.blackoutDates?.includes(date)) continue;
    if (rules.weekdays && rules.weekdays.length > 0 && !rules.weekdays.includes(day.weekday)) continue;
    const candidates = [
      day.toMillis(),
      ...starts.map((start) =>
        day.set({ hour: Math.floor(start / 60), minute: start % 60, second: 0, millisecond: 0 }).toMillis(),
      ),
    ].sort((a, b) => a - b);
    for (const candidate of candidates) {
      if (candidate >= epochMs && blockedBy(rules, zone, candidate) === null) return candidate;
    }
  }
  return null;
}

/** Why the constraints block `epochMs` (the first zone and constraint that does), or null. */
export function deferReason(constraints: readonly Constraint[], epochMs: number): DeferReasonValue | null {
  let found: DeferReasonValue | null = null;
  const rank = Object.values(DeferReason);
  for (const constraint of constraints) {
    for (const zone of constraint.zones) {
      const reason = blockedBy(constraint.rules, zone, epochMs, constraint.windowReason);
      if (reason !== null && (found === null || rank.indexOf(reason) < rank.indexOf(found))) found = reason;
    }
  }
  return found;
}

/**
 * The first moment at or after `epochMs` that every constraint allows in every one of its zones, or null
 * when there is none within the horizon (e.g. zones so far apart that their windows never overlap).
 * Each step moves to the latest of the blocked zones' own next openings, so it never skips an allowed
 * moment; it ends when nothing blocks.
 */
export function nextAllowed(constraints: readonly Constraint[], epochMs: number): number | null {
  let at = epochMs;
  const limit = epochMs + (horizonDays + 2) * 86_400_000;
  // Each step opens at least one zone; 64 steps is far more than any real rule set needs, and bounds the
  // cost of a set whose zones never overlap (it runs inside a lease).
  for (let step = 0; step < 64 && at <= limit; step++) {
    let next = at;
    for (const constraint of constraints) {
      for (const zone of constraint.zones) {
        if (blockedBy(constraint.rules, zone, at) === null) continue;
        const opening = nextAllowedIn(constraint.rules, zone, at);
        if (opening === null) return null;
        next = Math.max(next, opening);
      }
    }
    if (next === at) return at;
    at = next;
  }
  return null;
}

/** Longest-prefix table of E.164 digits (country code first) to the zones of that range. */
export type ZoneTable = ReadonlyMap<string, readonly string[]>;

/** The longest prefix of the table that `digits` starts with gives its zones; null when none does. */
export function zonesFromTable(table: ZoneTable, digits: string): readonly string[] | null {
  for (let length = Math.min(digits.length, 12); length > 0; length--) {
    const zones = table.get(digits.slice(0, length));
    if (zones) return zones;
  }
  return null;
}

/** Zones are stored on each callee as one text: the sorted names joined by '&' (the data's own form). */
export function encodeZones(zones: readonly string[]): string {
  return [...zones].sort().join('&');
}

export function decodeZones(stored: string | null | undefined, fallback: string): readonly string[] {
  return stored ? stored.split('&') : [fallback];
}

/** ISO dates checked strictly: '2026-02-30' is refused, not rolled over. */
export function isIsoDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid;
}
