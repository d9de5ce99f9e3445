/** Wire times in an account's zone: the fast formatter agrees with luxon's own formatting. */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { formatInZone, parseInZone, wireFormat } from '../../src/domain/time.ts';

describe('formatInZone', () => {
  const zones = [
    'UTC+8',
    'UTC-3:30',
    'UTC',
    'America/New_York',
    'Europe/London',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
  ];

  it('gives what luxon formats, hour by hour across DST changes and odd offsets', () => {
    for (const zone of zones) {
      for (
        let ms = Date.parse('2026-01-01T00:00:00Z');
        ms < Date.parse('2027-01-01T00:00:00Z');
        ms += 3_600_000 - 7
      ) {
        expect(formatInZone(ms, zone), `${zone} ${ms}`).toBe(
          DateTime.fromMillis(ms, { zone }).toFormat(wireFormat),
        );
      }
    }
  });

  it('round-trips with parseInZone, takes a Date, and answers null for no time', () => {
    const ms = Date.parse('2026-11-25T02:03:04Z');
    expect(formatInZone(ms, 'UTC+8')).toBe('2026-11-25 10:03:04');
    expect(formatInZone(new Date(ms), 'America/New_York')).toBe('2026-11-24 21:03:04');
    expect(parseInZone(formatInZone(ms, 'Asia/Kathmandu')!, 'Asia/Kathmandu', 'x')).toBe(ms);
    expect(formatInZone(null, 'UTC')).toBeNull();
    expect(formatInZone(undefined, 'UTC')).toBeNull();
  });
});
