/**
 * An uploaded number list (CSV or XLSX, already split into cells) turned into the API's `numberInfoList`:
 * column mapping, header detection, and per-row errors with the API's own rule text (the same
 * checkCalleeNumber the server runs). Pure, so the Web Worker runs it and the unit tests can too.
 */
import { calleeTexts, checkCalleeNumber, maxNumbersPerTask } from '../../src/domain/callees.ts';
import { ApiError } from '../../src/domain/errors.ts';

export type Cell = string | number | boolean | Date | null | undefined;

export interface Mapping {
  /** Column index of calleeNumber. */
  calleeNumber: number;
  /** Column index for text1..text10 (index 0 = text1), null = not mapped. */
  texts: Array<number | null>;
  /** Whether the first row is a header (skipped). */
  hasHeader: boolean;
}

export interface RowError {
  /** 1-based line/row in the file. */
  line: number;
  message: string;
}

export interface CheckedList {
  entries: Array<Record<string, string>>;
  errors: RowError[];
  errorCount: number;
  duplicates: number;
  /** Texts longer than 30 characters (the API cuts them, as the console does). */
  cutTexts: number;
  /** The whole-list error (-23 too many numbers, or none at all), in the API's words. */
  listError: string | null;
  rows: number;
}

export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return cell.toISOString().slice(0, 10);
  return String(cell).trim();
}

const looksLikeNumber = (text: string) => /^\+?[0-9][0-9 ()-]{4,}$/.test(text);

/** A first guess at the mapping from the first row. */
export function guessMapping(firstRow: readonly Cell[]): Mapping {
  const cells = firstRow.map(cellText);
  const hasHeader = cells.length > 0 && !cells.some(looksLikeNumber);
  const texts: Array<number | null> = Array.from({ length: 10 }, () => null);
  if (!hasHeader) {
    for (let n = 1; n <= 10 && n < cells.length; n++) texts[n - 1] = n;
    return { calleeNumber: 0, texts, hasHeader };
  }
  const lower = cells.map((cell) => cell.toLowerCase().replace(/[\s_-]/g, ''));
  let number = lower.indexOf('calleenumber');
  if (number < 0) number = lower.findIndex((name) => /callee|phone|mobile|number|msisdn|tel/.test(name));
  lower.forEach((name, index) => {
    const match = /^text(10|[1-9])$/.exec(name);
    if (match) texts[Number(match[1]) - 1] = index;
  });
  return { calleeNumber: Math.max(0, number), texts, hasHeader };
}

/** Errors listed one by one up to this many; the rest are counted. */
const listedErrors = 500;

export function checkRows(rows: ReadonlyArray<readonly Cell[]>, mapping: Mapping): CheckedList {
  const start = mapping.hasHeader ? 1 : 0;
  const entries: Array<Record<string, string>> = [];
  const errors: RowError[] = [];
  let errorCount = 0;
  let duplicates = 0;
  let cutTexts = 0;
  const seen = new Set<string>();
  for (let i = start; i < rows.length; i++) {
    const row = rows[i]!;
    const raw = cellText(row[mapping.calleeNumber]);
    if (raw === '' && row.every((cell) => cellText(cell) === '')) continue;
    // The index this row would have in numberInfoList if the whole file were sent, as the API names it.
    const index = i - start;
    let number: string;
    try {
      number = checkCalleeNumber(raw.replace(/[\s()-]/g, ''), index);
    } catch (error) {
      errorCount++;
      if (errors.length < listedErrors) {
        errors.push({ line: i + 1, message: error instanceof ApiError ? error.reason : String(error) });
      }
      continue;
    }
    if (seen.has(number)) {
      duplicates++;
      continue;
    }
    seen.add(number);
    const entry: Record<string, unknown> = { calleeNumber: number };
    mapping.texts.forEach((column, t) => {
      if (column === null) return;
      const text = cellText(row[column]);
      if (text === '') return;
      if (text.length > 30) cutTexts++;
      entry[`text${t + 1}`] = text;
    });
    entries.push({ calleeNumber: number, ...(calleeTexts(entry) ?? {}) });
  }
  let listError: string | null = null;
  if (entries.length === 0) listError = 'numberInfoList: is required (at least one number)';
  else if (entries.length > maxNumbersPerTask) {
    listError = `numberInfoList: at most ${maxNumbersPerTask} numbers per task`;
  }
  return { entries, errors, errorCount, duplicates, cutTexts, listError, rows: rows.length - start };
}
