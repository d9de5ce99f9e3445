/**
 * CSV for spreadsheets (RFC 4180): fields separated by commas, records by CRLF, a field quoted when it
 * holds a comma, a quote, CR or LF (quotes doubled). A text cell starting with = + - @ TAB or CR would be
 * run as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"), so it gets a leading
 * apostrophe, which they display as text; a plain number such as -1 is left as it is.
 */
const formulaStart = /^[=+\-@\t\r]/;
const plainNumber = /^-?\d+(\.\d+)?$/;

/** One cell's text: formula-safe and quoted when needed; null/undefined → empty. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && formulaStart.test(text) && !plainNumber.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: ReadonlyArray<string | number | null | undefined>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** Makes Excel read the file as UTF-8 (without it, it guesses the local code page); other tools skip it. */
export const utf8Bom = '\uFEFF';
