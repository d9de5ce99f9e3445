/**
 * The read-only console: lists the account's tasks with their progress and, for a selected task, its
 * settings, counters and recall rounds. It calls the public API like any client, signing with the
 * HMAC-SHA256 scheme (WebCrypto has no MD5), and refreshes every two seconds.
 */
interface Envelope<T> {
  status: string;
  reason: string;
  data: T;
}

interface TaskRecord {
  taskId: number;
  taskName: string;
  status: number;
  rate: number;
  numCnt: number;
  success: number;
  fail: number;
  createdTime: string;
  outRecallCount: number;
  sourceTaskId: number;
}

interface FlowNode {
  keyId: number;
  round: number;
  taskId: number | null;
  nodeStatus: number;
  dueTime: string | null;
}

interface FlowDetail {
  keyId: number;
  status: number;
  recallNum: number;
  recallInterval: number;
  recallType: number;
  finishNum: number;
  reason: string | null;
  nodeList: FlowNode[];
}

const taskStatus = [
  'waiting',
  'calling',
  'finished',
  'submission failed',
  'cancelled',
  'paused',
  'submitting',
];
const flowStatus = ['pending', 'in progress', 'completed', 'cancelled', 'exception'];

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let selected: number | null = null;

function credentials(): { apiKey: string; apiSecret: string } | null {
  const apiKey = sessionStorage.getItem('apiKey');
  const apiSecret = sessionStorage.getItem('apiSecret');
  return apiKey && apiSecret ? { apiKey, apiSecret } : null;
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const creds = credentials();
  if (!creds) throw new Error('not signed in');
  const method = body === undefined ? 'GET' : 'POST';
  const text = body === undefined ? '' : JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = crypto.randomUUID().replaceAll('-', '');
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(creds.apiSecret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const payload = [timestamp, nonce, method, path, text].join('\n');
  const signature = hex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload)));
  const response = await fetch(path, {
    method,
    headers: {
      'content-type': 'application/json',
      'Api-Key': creds.apiKey,
      Timestamp: timestamp,
      Nonce: nonce,
      Signature: signature,
    },
    ...(body === undefined ? {} : { body: text }),
  });
  const envelope = (await response.json()) as Envelope<T>;
  if (envelope.status !== '0') throw new Error(`${path}: ${envelope.reason} (${envelope.status})`);
  return envelope.data;
}

function cell(text: string | number, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

function bar(percent: number): HTMLTableCellElement {
  const td = document.createElement('td');
  const outer = document.createElement('div');
  outer.className = 'bar';
  outer.title = `${percent}%`;
  const inner = document.createElement('div');
  inner.style.width = `${Math.min(100, percent)}%`;
  outer.append(inner);
  td.append(outer);
  return td;
}

async function renderTasks(): Promise<void> {
  const page = await api<{ records: TaskRecord[] }>('/v3/voice/group/call/query', { current: 1, size: 50 });
  const rows = page.records.map((task) => {
    const tr = document.createElement('tr');
    tr.className = `task${task.taskId === selected ? ' selected' : ''}`;
    tr.dataset.taskId = String(task.taskId);
    tr.append(
      cell(task.taskId),
      cell(task.taskName),
      cell(task.outRecallCount === 0 ? 'original' : `round ${task.outRecallCount}`),
      cell(taskStatus[task.status] ?? String(task.status), 'status'),
      bar(task.rate),
      cell(task.numCnt),
      cell(task.success),
      cell(task.fail),
      cell(task.createdTime, 'muted'),
    );
    tr.addEventListener('click', () => {
      selected = task.taskId;
      void refresh();
    });
    return tr;
  });
  const body = byId<HTMLTableSectionElement>('tasks');
  if (rows.length === 0) body.innerHTML = '<tr><td colspan="9" class="muted">No tasks yet.</td></tr>';
  else body.replaceChildren(...rows);
}

function definition(list: HTMLDListElement, term: string, value: string | number | null): void {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value === null ? '—' : String(value);
  list.append(dt, dd);
}

async function renderDetail(): Promise<void> {
  if (selected === null) return;
  const task = await api<Record<string, string | number | null>>(`/v3/voice/group/call/detail/${selected}`);
  const section = byId<HTMLElement>('detail');
  const heading = document.createElement('h2');
  heading.textContent = `Task ${task.taskId}: ${task.taskName}`;
  const list = document.createElement('dl');
  for (const [term, key] of [
    ['Status', 'status'],
    ['Numbers', 'numCnt'],
    ['Dialled', 'callNum'],
    ['Answered', 'success'],
    ['Failed', 'fail'],
    ['Success rate %', 'successRate'],
    ['Key presses', 'keyFeedbackNum'],
    ['To agent', 'toseatNum'],
    ['Call loss', 'callLossNum'],
    ['Talk time (s)', 'callDuration'],
    ['Average call (s)', 'acd'],
    ['Send time', 'sendTime'],
    ['Finished', 'finishTime'],
  ] as const) {
    const value = task[key] ?? null;
    definition(list, term, key === 'status' ? (taskStatus[Number(value)] ?? String(value)) : value);
  }
  const children: HTMLElement[] = [heading, list];
  const sourceTaskId = Number(task.sourceTaskId ?? task.taskId);
  const flows = await api<{ records: Array<{ keyId: number; taskId: number }> }>(
    '/v3/voice/recallFlow/queryPage',
    {
      current: 1,
      size: 10,
      params: { taskName: String(sourceTaskId) },
    },
  );
  const flowRef = flows.records.find((flow) => flow.taskId === sourceTaskId);
  if (flowRef) {
    const flow = await api<FlowDetail>('/v3/voice/recallFlow/queryDetail', { keyId: flowRef.keyId });
    const title = document.createElement('h3');
    title.textContent = `Recall flow ${flow.keyId}: ${flowStatus[flow.status]} · ${flow.finishNum}/${flow.recallNum} rounds · every ${flow.recallInterval} min · ${flow.recallType === 1 ? 'failed only' : 'all numbers'}`;
    title.id = 'flow-title';
    const table = document.createElement('table');
    table.innerHTML = '<thead><tr><th>Round</th><th>Status</th><th>Task</th><th>Due</th></tr></thead>';
    const body = document.createElement('tbody');
    body.id = 'rounds';
    for (const node of flow.nodeList) {
      const tr = document.createElement('tr');
      tr.append(
        cell(`round ${node.round}`),
        cell(flowStatus[node.nodeStatus] ?? String(node.nodeStatus), 'status'),
        cell(node.taskId ?? '—'),
        cell(node.dueTime ?? '—', 'muted'),
      );
      body.append(tr);
    }
    table.append(body);
    children.push(title, table);
    if (flow.reason) {
      const reason = document.createElement('p');
      reason.textContent = flow.reason;
      children.push(reason);
    }
  }
  section.replaceChildren(...children);
}

async function refresh(): Promise<void> {
  if (!credentials()) return;
  try {
    await renderTasks();
    await renderDetail();
    byId<HTMLParagraphElement>('error').textContent = '';
  } catch (error) {
    byId<HTMLParagraphElement>('error').textContent = error instanceof Error ? error.message : String(error);
  }
}

byId<HTMLFormElement>('login').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('apiKey', byId<HTMLInputElement>('apiKey').value.trim());
  sessionStorage.setItem('apiSecret', byId<HTMLInputElement>('apiSecret').value.trim());
  void refresh();
});

setInterval(() => void refresh(), 2000);
void refresh();
