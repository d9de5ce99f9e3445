/**
 * Unit tests of the pure parts of the console's list import and CSV cells: mapping guesses, per-row
 * errors in the API's words, duplicates, and formula-safe RFC 4180 cells.
 */
import { describe, expect, it } from 'vitest';
import { readCallees } from '../../src/domain/callees.ts';
import { csvCell, csvLine } from '../../src/domain/csv.ts';
import type { ApiError } from '../../src/domain/errors.ts';
import { checkRows, guessMapping } from '../../web/src/import-rows.ts';

describe('number list import', () => {
  it('guesses calleeNumber and textN columns from a header, or takes column order without one', () => {
    expect(guessMapping(['Name', 'Phone number', 'text2', 'TEXT1'])).toEqual({
      calleeNumber: 1,
      texts: [3, 2, null, null, null, null, null, null, null, null],
      hasHeader: true,
    });
    expect(guessMapping(['8613800000001', 'Ann', 'Bee'])).toEqual({
      calleeNumber: 0,
      texts: [1, 2, null, null, null, null, null, null, null, null],
      hasHeader: false,
    });
  });

  it('gives each bad row the message the API gives for it, drops repeats, and cuts texts like the API', () => {
    const rows = [
      ['phone', 'text1'],
      ['+44 7700 900001', 'Ann'],
      ['12ab', 'Bob'],
      [447700900001, 'Ann again'],
      ['447700900003', 'x'.repeat(40)],
      ['', ''],
    ];
    const checked = checkRows(rows, guessMapping(rows[0]!));
    expect(checked.entries).toEqual([
      { calleeNumber: '447700900001', text1: 'Ann' },
      { calleeNumber: '447700900003', text1: 'x'.repeat(30) },
    ]);
    expect(checked.duplicates).toBe(1);
    expect(checked.cutTexts).toBe(1);
    expect(checked.errors).toEqual([
      { line: 3, message: 'numberInfoList[1].calleeNumber: must be 6-18 digits with country code' },
    ]);
    // The same rule, the same words, from the function the API runs:
    let reason = '';
    try {
      readCallees({ numberInfoList: [{ calleeNumber: '447700900001' }, { calleeNumber: '12ab' }] });
    } catch (error) {
      reason = (error as ApiError).reason;
    }
    expect(reason).toBe(checked.errors[0]!.message);
    expect(checkRows([['phone']], { calleeNumber: 0, texts: [], hasHeader: true }).listError).toBe(
      'numberInfoList: is required (at least one number)',
    );
  });
});

describe('CSV cells for spreadsheets', () => {
  it('quotes per RFC 4180 and keeps formulas as text, numbers as numbers', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+44 lead')).toBe("'+44 lead");
    expect(csvCell('-minus')).toBe("'-minus");
    expect(csvCell('@sum')).toBe("'@sum");
    expect(csvCell('=HYPERLINK("x","y")')).toBe('"\'=HYPERLINK(""x"",""y"")"');
    expect(csvCell('-1')).toBe('-1');
    expect(csvCell(-1)).toBe('-1');
    expect(csvCell(null)).toBe('');
    expect(csvLine(['a', 1, null])).toBe('a,1,\r\n');
  });
});
