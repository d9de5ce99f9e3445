import { describe, expect, it } from 'vitest';
import { CalleeNumberSet } from '../../src/domain/callee-number-set.ts';

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('CalleeNumberSet', () => {
  it('keeps exactly the distinct numbers a Set<string> keeps, over every length and through many growths', () => {
    const next = random(7);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
    const set = new CalleeNumberSet();
    const reference = new Set<string>();
    // Few distinct digits per length at first (so repeats are frequent), then many.
    for (let i = 0; i < 60_000; i++) {
      const n = 6 + Math.floor(next() * 13);
      const number = i < 20_000 ? digits(n).replace(/[5-9]/g, '0') : digits(n);
      expect(set.add(number)).toBe(!reference.has(number));
      reference.add(number);
    }
    expect(set.size).toBe(reference.size);
    for (const number of reference) expect(set.has(number)).toBe(true);
  });

  it('tells numbers apart that differ only by leading zeros or by where the digits split', () => {
    const set = new CalleeNumberSet();
    const numbers = [
      '123456',
      '0123456',
      '00123456',
      '000000',
      '0000000',
      '000000000000000000',
      '999999999999999999',
      '123456789',
      '1234567890',
      '0123456789',
      '1000000000',
      '100000000',
      '8613000000001',
      '86130000000010',
    ];
    for (const number of numbers) expect(set.add(number)).toBe(true);
    for (const number of numbers) expect(set.add(number)).toBe(false);
    expect(set.size).toBe(numbers.length);
    expect(set.has('12345678')).toBe(false);
  });

  it('refuses what the digits rule refuses, rather than keep a wrong key', () => {
    const set = new CalleeNumberSet();
    for (const bad of ['12345', '1234567890123456789', '12345a', '+123456', ''])
      expect(() => set.add(bad), bad).toThrow(RangeError);
  });
});
