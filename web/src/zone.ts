/** Wire times are 'yyyy-MM-dd HH:mm:ss' in the account's zone ('UTC+8' or an IANA name like 'Asia/Shanghai'). */

/** Minutes east of UTC of `zone` at instant `at`. */
export function zoneOffsetMinutes(zone: string, at: number): number {
  const fixed = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3] ?? 0));
  if (zone === 'UTC' || zone === 'GMT') return 0;
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(at))
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name ?? '');
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3] ?? 0));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A datetime-local value ('2026-11-25T09:30') read in `zone` → ISO-8601 with offset, for record queries. */
export function localInputToIso(value: string, zone: string): string {
  const guess = Date.parse(`${value}:00Z`);
  const offset = zoneOffsetMinutes(zone, guess);
  return `${value}:00${offsetText(offset)}`;
}

/** A datetime-local value → the wire form 'yyyy-MM-dd HH:mm:ss' (already in the account's zone). */
export function localInputToWire(value: string): string {
  return `${value.replace('T', ' ')}:00`.slice(0, 19);
}

/** Now in `zone` as a wire time. */
export function nowInZone(zone: string, now = Date.now()): string {
  const shifted = new Date(now + zoneOffsetMinutes(zone, now) * 60_000);
  return shifted.toISOString().slice(0, 19).replace('T', ' ');
}
