/** Campaigns: every task of the account (originals and recall rounds), searchable, filtered, sorted, paged, live. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, type Page } from '../api.ts';
import { useSession } from '../context.ts';
import type { LiveTask } from '../live.ts';
import { Bar, ErrorText, PageTitle, TableWrap } from '../ui.tsx';
import { taskStatusWords, waitInWords } from '../words.ts';
import { nowInZone } from '../zone.ts';

export interface TaskRecord extends LiveTask {
  waitReason?: string | null;
  nextDialAt?: string | null;
}

const sorts = [
  ['newest', 'Newest first'],
  ['oldest', 'Oldest first'],
  ['name', 'Name'],
  ['status', 'Status'],
  ['progress', 'Progress'],
] as const;

export function TasksPage() {
  const { api, live, account } = useSession();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState('newest');
  const [current, setCurrent] = useState(1);
  const [page, setPage] = useState<Page<TaskRecord> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const size = 20;

  useEffect(() => {
    let stale = false;
    api
      .call<Page<TaskRecord>>('/voice/group/call/query', {
        current,
        size,
        params: {
          ...(search.trim() ? { searchCondition: search.trim() } : {}),
          ...(status !== '' ? { statusList: [Number(status)] } : {}),
          sort,
        },
      })
      .then((result) => {
        if (stale) return;
        setPage(result);
        setError(null);
      })
      .catch((failure) => !stale && setError(messageOf(failure)));
    return () => {
      stale = true;
    };
  }, [api, search, status, sort, current, reload]);

  // Live: counters are patched in place; a new task or a status change reloads the page once (debounced).
  const pageRef = useRef(page);
  pageRef.current = page;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reloadSoon = () => {
      clearTimeout(timer);
      timer = setTimeout(() => setReload((n) => n + 1), 400);
    };
    const off = live.subscribe((event) => {
      if (event.type !== 'task') return;
      const shown = pageRef.current?.records.find((task) => task.taskId === event.data.taskId);
      if (!shown) {
        if (current === 1) reloadSoon();
        return;
      }
      if (shown.status !== event.data.status) reloadSoon();
      setPage((old) =>
        old
          ? {
              ...old,
              records: old.records.map((task) =>
                task.taskId === event.data.taskId ? { ...task, ...event.data } : task,
              ),
            }
          : old,
      );
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [live, current]);

  return (
    <section aria-labelledby="tasks-title">
      <PageTitle>
        <span id="tasks-title">Campaigns</span>
      </PageTitle>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="task-search">Search name or id</label>
          <input
            id="task-search"
            type="search"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              setCurrent(1);
            }}
          />
        </div>
        <div class="field">
          <label for="task-status">Status</label>
          <select
            id="task-status"
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value);
              setCurrent(1);
            }}
          >
            <option value="">Any</option>
            {Object.entries(taskStatusWords).map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="task-sort">Sort by</label>
          <select id="task-sort" value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
            {sorts.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <a class="button" href="#/new">
          New campaign
        </a>
      </form>
      <ErrorText error={error} />
      <TableWrap label="Tasks">
        <table>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Round</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Numbers</th>
              <th scope="col">Dialled</th>
              <th scope="col">Answered</th>
              <th scope="col">Failed</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody id="tasks">
            {page?.records.length === 0 && (
              <tr>
                <td colSpan={10} class="muted">
                  No campaigns yet. <a href="#/new">Create one</a>.
                </td>
              </tr>
            )}
            {page?.records.map((task) => {
              const waiting = waitInWords(task, account.timeZone, nowInZone(account.timeZone).slice(0, 10));
              return (
                <tr key={task.taskId} class="task" data-task-id={task.taskId}>
                  <td>{task.taskId}</td>
                  <td>
                    <a href={`#/campaign/${task.sourceTaskId}`}>{task.taskName}</a>
                  </td>
                  <td>{task.outRecallCount === 0 ? 'original' : `round ${task.outRecallCount}`}</td>
                  <td class="status">
                    {taskStatusWords[task.status] ?? task.status}
                    {waiting && <span class="wait"> · {waiting}</span>}
                  </td>
                  <td>
                    <Bar percent={task.rate} label={`Task ${task.taskId} progress`} />
                  </td>
                  <td>{task.numCnt}</td>
                  <td>{task.callNum}</td>
                  <td>{task.success}</td>
                  <td>{task.fail}</td>
                  <td class="muted">{task.createdTime}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      {page && (
        <nav class="pager" aria-label="Task pages">
          <button
            type="button"
            class="secondary"
            disabled={current <= 1}
            onClick={() => setCurrent(current - 1)}
          >
            Previous
          </button>
          <span>
            Page {page.current} of {Math.max(1, page.pages)} · {page.total} tasks
          </span>
          <button
            type="button"
            class="secondary"
            disabled={current >= page.pages}
            onClick={() => setCurrent(current + 1)}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
