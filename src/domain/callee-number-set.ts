/**
 * The distinct numbers of a callee list while it is read, for dropping repeats. Every number reaching it
 * keeps the digits rule (6 to 18 digits, src/domain/callees.ts), so each is encoded exactly in two 32-bit
 * words and kept in an open-addressing table of typed arrays: about 11 bytes a number. A Set<string> cost
 * ~26 bytes of table a number and kept each number's string (~32 bytes) alive for as long as the request;
 * for a 200,000-number body, the difference is ~10 MiB held per request.
 *
 * Written by hand: the hash sets on npm hold JavaScript values (which is what costs here), and Bloom or
 * cuckoo filters are approximate — a false "seen" would silently skip a callee.
 */

const MIN_DIGITS = 6;
const MAX_DIGITS = 18;
/** Grown (doubled) past this share of slots taken: linear probing stays short below it. */
const MAX_LOAD = 0.75;

export class CalleeNumberSet {
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `digits` (6 to 18 ASCII digits); false when it was already there. */
  add(digits: string): boolean {
    const { high, low } = encode(digits);
    if (this.insert(high, low)) {
      if (++this.count > this.high.length * MAX_LOAD) this.grow();
      return true;
    }
    return false;
  }

  has(digits: string): boolean {
    const { high, low } = encode(digits);
    const mask = this.high.length - 1;
    for (let i = slotOf(high, low, mask); ; i = (i + 1) & mask) {
      const h = this.high[i]!;
      if (h === 0 && this.low[i] === 0) return false;
      if (h === high && this.low[i] === low) return true;
    }
  }

  /** True when the key was not there (and is now). The table always has free slots (MAX_LOAD < 1). */
  private insert(high: number, low: number): boolean {
    const mask = this.high.length - 1;
    for (let i = slotOf(high, low, mask); ; i = (i + 1) & mask) {
      const h = this.high[i]!;
      const l = this.low[i]!;
      if (h === 0 && l === 0) {
        this.high[i] = high;
        this.low[i] = low;
        return true;
      }
      if (h === high && l === low) return false;
    }
  }

  private grow(): void {
    const { high, low } = this;
    this.high = new Uint32Array(high.length * 2);
    this.low = new Uint32Array(low.length * 2);
    for (let i = 0; i < high.length; i++) if (high[i] !== 0 || low[i] !== 0) this.insert(high[i]!, low[i]!);
  }
}

/**
 * Two words for a number: its last 9 digits (< 2^30) in the low word, the digits before them (at most 9,
 * < 2^30) in the high word, and its length (so that leading zeros count: "0123456" is not "123456") in the
 * two words' top bits, as length − 5 (1 to 13, never 0: an all-zero pair marks an empty slot).
 */
function encode(digits: string): { high: number; low: number } {
  const n = digits.length;
  if (n < MIN_DIGITS || n > MAX_DIGITS || !/^[0-9]+$/.test(digits))
    throw new RangeError(`not a callee number of ${MIN_DIGITS} to ${MAX_DIGITS} digits: ${digits}`);
  const split = n > 9 ? n - 9 : 0;
  const tag = n - 5;
  const low = Number(digits.slice(split)) + (tag & 3) * 2 ** 30;
  const high = (split ? Number(digits.slice(0, split)) : 0) + (tag >> 2) * 2 ** 30;
  return { high, low };
}

function slotOf(high: number, low: number, mask: number): number {
  let h = Math.imul(high ^ Math.imul(low, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h & mask;
}
