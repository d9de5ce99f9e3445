/**
 * Web Worker: reads an uploaded CSV (papaparse) or XLSX (read-excel-file's worker build) and checks it
 * (import-rows.ts), so a 200,000-row list never blocks the page.
 *
 * Messages in: {type:'read', file} then {type:'check', mapping}. Out: {type:'read', columns, sample,
 * mapping, rows} | {type:'checked', ...CheckedList} | {type:'error', message}.
 */
import Papa from 'papaparse';
import { readSheet } from 'read-excel-file/web-worker';
import { type Cell, checkRows, guessMapping, type Mapping } from './import-rows.ts';

type Incoming = { type: 'read'; file: File } | { type: 'check'; mapping: Mapping };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<Incoming>) => void) | null;
  postMessage(message: unknown): void;
};

let rows: Cell[][] = [];

async function read(file: File): Promise<Cell[][]> {
  if (/\.xlsx$/i.test(file.name)) return (await readSheet(file)) as Cell[][];
  const text = await file.text();
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: 'greedy' });
  return parsed.data;
}

scope.onmessage = (event) => {
  const message = event.data;
  void (async () => {
    try {
      if (message.type === 'read') {
        rows = await read(message.file);
        const columns = rows.reduce((max, row) => Math.max(max, row.length), 0);
        const mapping = guessMapping(rows[0] ?? []);
        scope.postMessage({ type: 'read', columns, sample: rows.slice(0, 11), mapping, rows: rows.length });
      } else {
        scope.postMessage({ type: 'checked', ...checkRows(rows, message.mapping) });
      }
    } catch (error) {
      scope.postMessage({
        type: 'error',
        message: `The file could not be read: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  })();
};
