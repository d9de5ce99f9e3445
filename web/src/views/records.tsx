/**
 * Call records with the API's [ours] filters. Next/previous pages use keyset paging (afterVoiceId), so
 * page 2,000 of 200,000 records is as quick as page 1; "go to page" uses `current`. Export streams a CSV
 * of every matching record from the server.
 */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, type Page } from '../api.ts';
import { useSession } from '../context.ts';
import { ErrorText, Num, PageTitle, saveBlob, TableWrap } from '../ui.tsx';
import { callStatusWords } from '../words.ts';
import { localInputToIso } from '../zone.ts';

interface CallRecord {
  voiceId: number;
  taskId: number;
  sourceTaskId: number;
  outRecallCount: number;
  callee: string;
  callTime: string | null;
  ringDuration: number;
  callDuration: number;
  callStatus: number | null;
  feedbackValue: string;
  terminationReason: string | null;
  smsStatus: string | null;
  seat: string | null;
}

interface Filters {
  source: string;
  task: string;
  round: string;
  statuses: number[];
  key: string;
  prefix: string;
  from: string;
  to: string;
}

const keys = ['-1', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];
const size = 50;

export function RecordsPage({ initial }: { initial: URLSearchParams }) {
  const { api, account } = useSession();
  const [filters, setFilters] = useState<Filters>({
    source: initial.get('source') ?? '',
    task: initial.get('task') ?? '',
    round: '',
    statuses: [],
    key: '',
    prefix: '',
    from: '',
    to: '',
  });
  const [applied, setApplied] = useState(filters);
  /** voiceId cursors of the pages before the current one (keyset paging). */
  const [cursors, setCursors] = useState<number[]>([]);
  const [pageNumber, setPageNumber] = useState(1);
  const [jump, setJump] = useState<number | null>(null);
  const [page, setPage] = useState<Page<CallRecord> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const params = (f: Filters) => ({
    ...(f.source ? { sourceTaskId: Number(f.source) } : {}),
    ...(f.task ? { taskId: Number(f.task) } : {}),
    ...(f.round !== '' ? { outRecallCount: Number(f.round) } : {}),
    ...(f.statuses.length ? { callStatusList: f.statuses } : {}),
    ...(f.key ? { feedbackValue: f.key } : {}),
    ...(f.prefix ? { calleePrefix: f.prefix.trim() } : {}),
    ...(f.from ? { strTime: localInputToIso(f.from, account.timeZone) } : {}),
    ...(f.to ? { endTime: localInputToIso(f.to, account.timeZone) } : {}),
  });

  useEffect(() => {
    let stale = false;
    const after = cursors[cursors.length - 1];
    const body =
      jump !== null
        ? { current: jump, size, params: params(applied) }
        : {
            current: 1,
            size,
            params: { ...params(applied), ...(after !== undefined ? { afterVoiceId: after } : {}) },
          };
    api
      .call<Page<CallRecord>>('/voice/recordGroupQuery', body)
      .then((result) => {
        if (stale) return;
        setPage(result);
        setError(null);
      })
      .catch((failure) => !stale && setError(messageOf(failure)));
    return () => {
      stale = true;
    };
  }, [api, applied, cursors, jump]);

  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch });
  const pages = page ? Math.max(1, Math.ceil(page.total / size)) : 1;
  const lastId = page?.records[page.records.length - 1]?.voiceId;

  const exportCsv = async () => {
    setBusy(true);
    try {
      const blob = await api.blob('/voice/recordGroupExport', { params: params(applied) });
      saveBlob(
        blob,
        `records${applied.source ? `-${applied.source}` : applied.task ? `-${applied.task}` : ''}.csv`,
      );
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="records-title">
      <PageTitle>
        <span id="records-title">Call records</span>
      </PageTitle>
      <form
        class="filters"
        id="record-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setJump(null);
          setPageNumber(1);
          setApplied(filters);
        }}
      >
        <div class="field">
          <label for="f-source">Campaign (original task id)</label>
          <input
            id="f-source"
            inputMode="numeric"
            value={filters.source}
            onInput={(e) => set({ source: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="f-task">Task id</label>
          <input
            id="f-task"
            inputMode="numeric"
            value={filters.task}
            onInput={(e) => set({ task: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="f-round">Round</label>
          <select id="f-round" value={filters.round} onChange={(e) => set({ round: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="0">original</option>
            {Array.from({ length: 10 }, (_, i) => (
              <option key={i} value={i + 1}>
                round {i + 1}
              </option>
            ))}
          </select>
        </div>
        <fieldset class="field">
          <legend>Outcome</legend>
          {Object.entries(callStatusWords).map(([value, words]) => (
            <label key={value} class="check">
              <input
                type="checkbox"
                checked={filters.statuses.includes(Number(value))}
                onChange={(e) =>
                  set({
                    statuses: e.currentTarget.checked
                      ? [...filters.statuses, Number(value)]
                      : filters.statuses.filter((s) => s !== Number(value)),
                  })
                }
              />{' '}
              {words}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="f-key">Key pressed</label>
          <select id="f-key" value={filters.key} onChange={(e) => set({ key: e.currentTarget.value })}>
            <option value="">Any</option>
            {keys.map((key) => (
              <option key={key} value={key}>
                {key === '-1' ? 'none' : key}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-prefix">Number starts with</label>
          <input
            id="f-prefix"
            inputMode="numeric"
            value={filters.prefix}
            onInput={(e) => set({ prefix: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="f-from">Called from ({account.timeZone})</label>
          <input
            id="f-from"
            type="datetime-local"
            value={filters.from}
            onInput={(e) => set({ from: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="f-to">Called until ({account.timeZone})</label>
          <input
            id="f-to"
            type="datetime-local"
            value={filters.to}
            onInput={(e) => set({ to: e.currentTarget.value })}
          />
        </div>
        <button type="submit">Show records</button>
        <button type="button" class="secondary" id="export-csv" disabled={busy} onClick={exportCsv}>
          {busy ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      <ErrorText error={error} />
      {page && (
        <p>
          <Num check="records.total" value={page.total} /> records · page {jump ?? pageNumber} of {pages}
        </p>
      )}
      <TableWrap label="Call records">
        <table id="records">
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Task</th>
              <th scope="col">Round</th>
              <th scope="col">Number</th>
              <th scope="col">Called at</th>
              <th scope="col">Ring s</th>
              <th scope="col">Talk s</th>
              <th scope="col">Outcome</th>
              <th scope="col">Key</th>
              <th scope="col">Reason</th>
              <th scope="col">SMS</th>
              <th scope="col">Agent</th>
            </tr>
          </thead>
          <tbody>
            {page?.records.map((record) => (
              <tr key={record.voiceId} data-voice-id={record.voiceId}>
                <td>{record.voiceId}</td>
                <td>{record.taskId}</td>
                <td>{record.outRecallCount}</td>
                <td>{record.callee}</td>
                <td>{record.callTime}</td>
                <td>{record.ringDuration}</td>
                <td>{record.callDuration}</td>
                <td data-status={record.callStatus}>{callStatusWords[record.callStatus ?? 60]}</td>
                <td>{record.feedbackValue === '-1' ? '' : record.feedbackValue}</td>
                <td>{record.terminationReason}</td>
                <td>{record.smsStatus ?? ''}</td>
                <td>{record.seat ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <nav class="pager" aria-label="Record pages">
        <button
          type="button"
          class="secondary"
          disabled={jump === null ? cursors.length === 0 : jump <= 1}
          onClick={() => {
            if (jump !== null) {
              setJump(jump - 1);
              return;
            }
            setCursors(cursors.slice(0, -1));
            setPageNumber(pageNumber - 1);
          }}
        >
          Previous
        </button>
        <button
          type="button"
          class="secondary"
          id="records-next"
          disabled={!page || page.records.length < size || lastId === undefined}
          onClick={() => {
            if (jump !== null) {
              setJump(jump + 1);
              return;
            }
            setCursors([...cursors, lastId!]);
            setPageNumber(pageNumber + 1);
          }}
        >
          Next
        </button>
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault();
            const value = Number((event.currentTarget.elements.namedItem('goto') as HTMLInputElement).value);
            if (value >= 1) setJump(Math.min(value, pages));
          }}
        >
          <label for="goto">Go to page</label>
          <input id="goto" name="goto" type="number" min={1} max={pages} />
          <button type="submit" class="secondary">
            Go
          </button>
        </form>
      </nav>
    </section>
  );
}
