/** Time formats of the wire contract (spec §1): bodies use 'yyyy-MM-dd HH:mm:ss' in the account's zone. */
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon';
import { invalid } from './errors.ts';

export const wireFormat = 'yyyy-MM-dd HH:mm:ss';

/** Accepts IANA names ('Asia/Shanghai') and fixed offsets ('UTC+8', 'UTC-03:30'). */
export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone) || FixedOffsetZone.parseSpecifier(zone) !== null;
}

export function formatInZone(epochMs: number | Date | null | undefined, zone: string): string | null {
  if (epochMs === null || epochMs === undefined) return null;
  const ms = epochMs instanceof Date ? epochMs.getTime() : epochMs;
  return DateTime.fromMillis(ms, { zone }).toFormat(wireFormat);
}

export function parseInZone(value: string, zone: string, field: string): number {
  const parsed = DateTime.fromFormat(value, wireFormat, { zone });
  if (!parsed.isValid) throw invalid(field, `must be a time formatted ${wireFormat}`);
  return parsed.toMillis();
}

/** Record queries take ISO-8601 with an offset (spec §3). */
export function parseIso(value: string, field: string): number {
  const parsed = DateTime.fromISO(value, { setZone: true });
  if (!parsed.isValid || !/([+-]\d{2}:?\d{2}|Z)$/.test(value)) {
    throw invalid(field, 'must be ISO-8601 with an offset, e.g. 2026-11-25T10:00:00+08:00');
  }
  return parsed.toMillis();
}
