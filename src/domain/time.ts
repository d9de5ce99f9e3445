/** Time formats of the wire contract (spec §1): bodies use 'yyyy-MM-dd HH:mm:ss' in the account's zone. */
import { DateTime, FixedOffsetZone, IANAZone, Info, type Zone } from 'luxon';
import { invalid } from './errors.ts';

export const wireFormat = 'yyyy-MM-dd HH:mm:ss';

/** Accepts IANA names ('Asia/Shanghai') and fixed offsets ('UTC+8', 'UTC-03:30'). */
export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone) || FixedOffsetZone.parseSpecifier(zone) !== null;
}

/** Zones by name, resolved once: every answer formats its times in the account's zone. */
const resolvedZones = new Map<string, Zone>();

function resolveZone(name: string): Zone {
  let zone = resolvedZones.get(name);
  if (!zone) {
    zone = Info.normalizeZone(name);
    if (resolvedZones.size < 10_000) resolvedZones.set(name, zone);
  }
  return zone;
}

const twoDigits = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * `wireFormat` in `zone`. Luxon gives the zone's offset at that instant; the fields are then read from a
 * shifted UTC date, because a DateTime built and formatted per value cost more than the rest of a
 * detail answer (several per request on the hottest read paths).
 */
export function formatInZone(epochMs: number | Date | null | undefined, zone: string): string | null {
  if (epochMs === null || epochMs === undefined) return null;
  const ms = epochMs instanceof Date ? epochMs.getTime() : epochMs;
  const resolved = resolveZone(zone);
  if (!resolved.isValid || !Number.isFinite(ms))
    return DateTime.fromMillis(ms, { zone }).toFormat(wireFormat);
  const local = new Date(ms + resolved.offset(ms) * 60_000);
  const year = local.getUTCFullYear();
  if (year < 1000 || year > 9999) return DateTime.fromMillis(ms, { zone }).toFormat(wireFormat);
  return `${year}-${twoDigits(local.getUTCMonth() + 1)}-${twoDigits(local.getUTCDate())} ${twoDigits(
    local.getUTCHours(),
  )}:${twoDigits(local.getUTCMinutes())}:${twoDigits(local.getUTCSeconds())}`;
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
