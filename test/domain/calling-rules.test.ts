import { describe, expect, it } from 'vitest';
import { calleeZoneOf, calleeZonesOf } from '../../src/api/callee-zones.ts';
import {
  type Constraint,
  DeferReason,
  decodeZones,
  deferReason,
  isIsoDate,
  nextAllowed,
  nextAllowedIn,
  type ZoneRules,
} from '../../src/domain/calling-rules.ts';

const at = (iso: string) => Date.parse(iso);
const nineToEight: ZoneRules = { windows: [{ strTime: '09:00', endTime: '20:00' }] };
const callee = (number: string, rules: ZoneRules = nineToEight): Constraint[] => [
  { rules, zones: decodeZones(calleeZoneOf(number), 'America/New_York'), windowReason: 'window' },
];

describe('the callee zone comes from the number', () => {
  it('a Los Angeles and a New York number get their own zones', () => {
    expect(calleeZoneOf('12135550123')).toBe('America/Los_Angeles');
    expect(calleeZoneOf('12125550123')).toBe('America/New_York');
  });
  it('Australia, Brazil and Indonesia numbers get the zone of their region', () => {
    expect(calleeZoneOf('61293744000')).toBe('Australia/Sydney');
    expect(calleeZoneOf('61732211234')).toBe('Australia/Brisbane');
    expect(calleeZoneOf('551133334444')).toBe('America/Sao_Paulo');
    expect(calleeZoneOf('559232334444')).toBe('America/Manaus');
    expect(calleeZoneOf('556832234444')).toBe('America/Rio_Branco');
    expect(calleeZoneOf('622131234567')).toBe('Asia/Jakarta');
    expect(calleeZoneOf('62361234567')).toBe('Asia/Makassar');
    expect(calleeZoneOf('62967531234')).toBe('Asia/Jayapura');
  });
  it('an ambiguous number gets all its possible zones, and an unknown one none', () => {
    expect(calleeZoneOf('61892221234')).toBe('Australia/Adelaide&Australia/Perth');
    expect(calleeZoneOf('999999999')).toBeNull();
    expect(calleeZonesOf(['12135550123', '12135550124', '12125550123'])).toEqual([
      'America/Los_Angeles',
      'America/Los_Angeles',
      'America/New_York',
    ]);
  });
});

describe('a callee outside its window is deferred to its next allowed moment, in its own zone', () => {
  // 07:00 in New York, 04:00 in Los Angeles.
  const morning = at('2026-12-01T12:00:00Z');
  it('New York account, windowZone callee 09:00-20:00: LA is first called at 09:00 LA, NY at 09:00 NY', () => {
    expect(nextAllowed(callee('12135550123'), morning)).toBe(at('2026-12-01T17:00:00Z'));
    expect(nextAllowed(callee('12125550123'), morning)).toBe(at('2026-12-01T14:00:00Z'));
    expect(deferReason(callee('12135550123'), morning)).toBe(DeferReason.window);
    expect(deferReason(callee('12125550123'), at('2026-12-01T14:00:00Z'))).toBeNull();
  });
  it('the same across the DST change (US clocks go forward on 2026-03-08)', () => {
    // Saturday before the change: 09:00 PST = 17:00Z; Sunday after it: 09:00 PDT = 16:00Z.
    expect(nextAllowed(callee('12135550123'), at('2026-03-07T12:00:00Z'))).toBe(at('2026-03-07T17:00:00Z'));
    expect(nextAllowed(callee('12135550123'), at('2026-03-08T12:00:00Z'))).toBe(at('2026-03-08T16:00:00Z'));
    // After 20:00 PST on Saturday the next moment is Sunday 09:00 PDT.
    expect(nextAllowed(callee('12135550123'), at('2026-03-08T04:30:00Z'))).toBe(at('2026-03-08T16:00:00Z'));
    // And back in autumn (2026-11-01): 09:00 PDT = 16:00Z on Saturday, 09:00 PST = 17:00Z on Sunday.
    expect(nextAllowed(callee('12125550123'), at('2026-10-31T05:00:00Z'))).toBe(at('2026-10-31T13:00:00Z'));
    expect(nextAllowed(callee('12125550123'), at('2026-11-01T05:00:00Z'))).toBe(at('2026-11-01T14:00:00Z'));
  });
  it('Australia, Brazil and Indonesia callees open at 09:00 in their own zones', () => {
    const from = at('2026-12-01T00:30:00Z');
    // Sydney is UTC+11 in December (daylight time), Brisbane UTC+10 (none).
    expect(nextAllowed(callee('61293744000'), at('2026-11-30T20:00:00Z'))).toBe(at('2026-11-30T22:00:00Z'));
    expect(nextAllowed(callee('61732211234'), at('2026-11-30T20:00:00Z'))).toBe(at('2026-11-30T23:00:00Z'));
    expect(nextAllowed(callee('551133334444'), from)).toBe(at('2026-12-01T12:00:00Z')); // UTC-3
    expect(nextAllowed(callee('559232334444'), from)).toBe(at('2026-12-01T13:00:00Z')); // UTC-4
    expect(nextAllowed(callee('622131234567'), from)).toBe(at('2026-12-01T02:00:00Z')); // UTC+7
    expect(nextAllowed(callee('62361234567'), from)).toBe(at('2026-12-01T01:00:00Z')); // UTC+8
    expect(nextAllowed(callee('62967531234'), from)).toBe(from); // UTC+9: 09:30 already
  });
  it('an ambiguous number is called only when allowed in every possible zone (the intersection)', () => {
    // Adelaide UTC+10:30 in December, Perth UTC+8: 09:00 Perth = 01:00Z, 11:30 in Adelaide.
    expect(nextAllowed(callee('61892221234'), at('2026-11-30T20:00:00Z'))).toBe(at('2026-12-01T01:00:00Z'));
  });
  it('blackout dates skip whole days, weekdays skip the others', () => {
    const rules: ZoneRules = { ...nineToEight, blackoutDates: ['2026-12-01', '2026-12-02'] };
    expect(nextAllowed(callee('12125550123', rules), at('2026-12-01T12:00:00Z'))).toBe(
      at('2026-12-03T14:00:00Z'),
    );
    expect(deferReason(callee('12125550123', rules), at('2026-12-01T15:00:00Z'))).toBe('blackout');
    // 2026-12-05 is a Saturday: weekdays Monday-Friday move it to Monday 7th.
    const weekdays: ZoneRules = { ...nineToEight, weekdays: [1, 2, 3, 4, 5] };
    expect(deferReason(callee('12125550123', weekdays), at('2026-12-05T15:00:00Z'))).toBe('weekday');
    expect(nextAllowed(callee('12125550123', weekdays), at('2026-12-05T15:00:00Z'))).toBe(
      at('2026-12-07T14:00:00Z'),
    );
  });
  it('the legal window applies on top of the task windows and reports legal', () => {
    const legal: Constraint = {
      rules: { windows: [{ strTime: '10:00', endTime: '21:00' }] },
      zones: ['America/New_York'],
      windowReason: 'legal',
    };
    const both = [...callee('12125550123'), legal];
    expect(deferReason(both, at('2026-12-01T14:30:00Z'))).toBe('legal');
    expect(nextAllowed(both, at('2026-12-01T12:00:00Z'))).toBe(at('2026-12-01T15:00:00Z'));
  });
  it('a window past midnight, and zones whose windows never overlap', () => {
    const night: ZoneRules = { windows: [{ strTime: '22:00', endTime: '02:00' }] };
    expect(nextAllowedIn(night, 'UTC', at('2026-12-01T03:00:00Z'))).toBe(at('2026-12-01T22:00:00Z'));
    expect(nextAllowedIn(night, 'UTC', at('2026-12-01T01:00:00Z'))).toBe(at('2026-12-01T01:00:00Z'));
    const short: ZoneRules = { windows: [{ strTime: '09:00', endTime: '10:00' }] };
    const apart: Constraint[] = [
      { rules: short, zones: ['Asia/Tokyo', 'America/New_York'], windowReason: 'window' },
    ];
    expect(nextAllowed(apart, at('2026-12-01T00:00:00Z'))).toBeNull();
  });
  it('dates are checked strictly', () => {
    expect(isIsoDate('2026-12-01')).toBe(true);
    expect(isIsoDate('2026-02-30')).toBe(false);
    expect(isIsoDate('2026-2-3')).toBe(false);
  });
});
