/**
 * Allowed sending windows (`allowSendTime`, spec §3): up to three 'HH:mm' ranges in a time zone.
 * A window whose end is before its start runs past midnight. No windows = always open.
 */
import { DateTime } from 'luxon';
import { inWindow, minutesOf } from './calling-rules.ts';
import type { SendWindow } from './task-settings.ts';

export function isOpenAt(windows: readonly SendWindow[], zone: string, epochMs: number): boolean {
  if (windows.length === 0) return true;
  const local = DateTime.fromMillis(epochMs, { zone });
  const minute = local.hour * 60 + local.minute;
  return windows.some((window) => inWindow(minute, window));
}

/** The first moment at or after `epochMs` when a window is open (null = never: cannot happen with ≥1 window). */
export function nextOpening(windows: readonly SendWindow[], zone: string, epochMs: number): number {
  if (isOpenAt(windows, zone, epochMs)) return epochMs;
  const local = DateTime.fromMillis(epochMs, { zone });
  let best = Number.POSITIVE_INFINITY;
  for (const window of windows) {
    const start = minutesOf(window.strTime);
    for (const dayOffset of [0, 1]) {
      // startOf('day') + minutes keeps DST gaps honest: luxon resolves the wall-clock time in the zone.
      const candidate = local
        .startOf('day')
        .plus({ days: dayOffset })
        .set({ hour: Math.floor(start / 60), minute: start % 60 })
        .toMillis();
      if (candidate >= epochMs && candidate < best) best = candidate;
    }
  }
  return best;
}
