/**
 * New campaign: the whole `/voice/group/call/send` request as a form. The number list is read and checked
 * in a Web Worker (import-worker.ts); the form is checked with the API's own rules (form-rules.ts) before
 * it is sent, and whatever the API still says is shown in words.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CalleeEntry } from '../../../src/domain/callees.ts';
import { placeholdersIn } from '../../../src/domain/template.ts';
import { messageOf, type Page } from '../api.ts';
import { useSession } from '../context.ts';
import { firstProblem } from '../form-rules.ts';
import type { Cell, CheckedList, Mapping } from '../import-rows.ts';
import { ErrorText, PageTitle, TableWrap } from '../ui.tsx';
import { localInputToWire } from '../zone.ts';
import { type Language, numberField, type VoiceChoice, VoiceFields, voiceBody } from './voice-fields.tsx';

interface ReadResult {
  columns: number;
  sample: Cell[][];
  mapping: Mapping;
  rows: number;
}

interface RoundOverride {
  enabled: boolean;
  voice: VoiceChoice;
}

const emptyVoice: VoiceChoice = {
  source: '3',
  voiceFileId: '',
  text: '',
  lan: 'en',
  accent: '',
  gender: '',
  rate: '1',
  upload: null,
};

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  return cell instanceof Date ? cell.toISOString().slice(0, 10) : String(cell);
}

export function NewCampaignPage() {
  const { api, account } = useSession();
  const worker = useRef<Worker | null>(null);
  const [read, setRead] = useState<ReadResult | null>(null);
  const [mapping, setMapping] = useState<Mapping | null>(null);
  const [checked, setChecked] = useState<CheckedList | null>(null);
  const [reading, setReading] = useState(false);
  const [languages, setLanguages] = useState<Language[]>([]);
  const [files, setFiles] = useState<Array<{ fileId: string; fileName: string }>>([]);
  const [groups, setGroups] = useState<Array<{ voiceGroupId: number; groupName: string }>>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  const [f, setF] = useState({
    appId: String(account.apps[0]?.appId ?? ''),
    taskName: '',
    displayNum: '',
    sendTime: '',
    windows: [
      { strTime: '', endTime: '' },
      { strTime: '', endTime: '' },
      { strTime: '', endTime: '' },
    ],
    maxRingingTime: '60',
    maxCalls: '300',
    loopCount: '1',
    hangUpSms: false,
    smsContent: '',
    senderId: '',
    feedbackPush: false,
    feedbackValue: '',
    successPush: false,
    successPushTime: '10',
    failedPush: false,
    ringPush: false,
    toSeat: false,
    sipGroupId: '',
    toSeatType: '1',
    toSeatKey: '',
    delayTransfer: '0',
    outboundControl: false,
    calloutRate: '1',
    recall: false,
    recallInterval: '60',
    recallNum: '2',
    recallType: '1',
  });
  const [voice, setVoice] = useState<VoiceChoice>(emptyVoice);
  const [overrides, setOverrides] = useState<RoundOverride[]>([]);
  const set = (patch: Partial<typeof f>) => setF({ ...f, ...patch });

  useEffect(() => {
    api.call<Language[]>('/voice/tts/languages').then(setLanguages, () => undefined);
    api.call<Page<{ fileId: string; fileName: string }>>('/voice/fileQuery', { current: 1, size: 100 }).then(
      (page) => setFiles(page.records),
      () => undefined,
    );
    api
      .call<Array<{ voiceGroupId: number; groupName: string }>>('/cc/seatGroup/query', {})
      .then(setGroups, () => undefined);
    const created = new Worker('/console/assets/import-worker.js', { type: 'module' });
    created.onmessage = (event: MessageEvent) => {
      const message = event.data as
        | ({ type: 'read' } & ReadResult)
        | ({ type: 'checked' } & CheckedList)
        | { type: 'error'; message: string };
      if (message.type === 'read') {
        setRead(message);
        setMapping(message.mapping);
        created.postMessage({ type: 'check', mapping: message.mapping });
      } else if (message.type === 'checked') {
        setChecked(message);
        setReading(false);
      } else {
        setProblem(message.message);
        setReading(false);
      }
    };
    worker.current = created;
    return () => created.terminate();
  }, [api]);

  const remap = (next: Mapping) => {
    setMapping(next);
    setChecked(null);
    setReading(true);
    worker.current?.postMessage({ type: 'check', mapping: next });
  };

  const recallNum = Number(f.recallNum) || 0;
  useEffect(() => {
    setOverrides((old) =>
      Array.from(
        { length: Math.max(0, Math.min(10, recallNum)) },
        (_, i) => old[i] ?? { enabled: false, voice: { ...voice } },
      ),
    );
  }, [recallNum]);

  const callees: CalleeEntry[] = (checked?.entries ?? []).map(({ calleeNumber, ...texts }) => ({
    callee: calleeNumber!,
    info: Object.keys(texts).length ? texts : null,
  }));

  const buildBody = async (): Promise<Record<string, unknown>> => {
    const flag = (on: boolean) => (on ? 1 : 0);
    const windows = f.windows.filter((w) => w.strTime || w.endTime);
    const body: Record<string, unknown> = {
      appId: numberField(f.appId),
      taskName: f.taskName.trim(),
      ...(f.displayNum ? { displayNum: f.displayNum.trim() } : {}),
      numberInfoList: checked?.entries ?? [],
      ...(await voiceBody(voice, '')),
      ...(f.sendTime ? { sendTime: localInputToWire(f.sendTime) } : {}),
      ...(windows.length ? { allowSendTime: windows } : {}),
      maxRingingTime: numberField(f.maxRingingTime),
      maxCalls: numberField(f.maxCalls),
      loopCount: numberField(f.loopCount),
      hangUpSms: flag(f.hangUpSms),
    };
    if (f.hangUpSms) {
      Object.assign(body, {
        smsContent: f.smsContent,
        ...(f.senderId ? { senderId: f.senderId } : {}),
        feedbackPush: flag(f.feedbackPush),
        ...(f.feedbackPush && f.feedbackValue !== '' ? { feedbackValue: f.feedbackValue } : {}),
        successPush: flag(f.successPush),
        ...(f.successPush ? { successPushTime: numberField(f.successPushTime) } : {}),
        failedPush: flag(f.failedPush),
        ringPush: flag(f.ringPush),
      });
    }
    if (f.toSeat) {
      Object.assign(body, {
        toSeat: 1,
        ...(f.sipGroupId ? { sipGroupId: numberField(f.sipGroupId) } : {}),
        toSeatType: numberField(f.toSeatType),
        ...(f.toSeatType === '2' && f.toSeatKey ? { toSeatKey: f.toSeatKey } : {}),
        delayTransfer: numberField(f.delayTransfer),
        outboundControl: flag(f.outboundControl),
        ...(f.outboundControl ? { calloutRate: numberField(f.calloutRate) } : {}),
      });
    }
    if (f.recall) {
      const flow: Record<string, unknown> = {
        recallInterval: numberField(f.recallInterval),
        recallNum: numberField(f.recallNum),
        recallType: numberField(f.recallType),
      };
      // Node i uses nodeList[i-1], else the last node given: so once any round has its own message, every
      // round is listed, and a round without one is {} (the original's settings).
      if (overrides.some((o) => o.enabled)) {
        flow.nodeList = await Promise.all(
          overrides.map(async (o, i) => (o.enabled ? voiceBody(o.voice, `recallFlow.nodeList[${i}].`) : {})),
        );
      }
      body.recallFlow = flow;
    }
    return body;
  };

  const focusField = (reason: string) => {
    const field = reason.split(': ')[0] ?? '';
    const target =
      document.querySelector<HTMLElement>(`[data-field="${CSS.escape(field)}"]`) ??
      document.querySelector<HTMLElement>(`[data-field="${CSS.escape(field.replace(/\[\d+\]/g, '[]'))}"]`);
    target?.focus();
  };

  const send = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    if (!checked) {
      setProblem('numberInfoList: is required (at least one number)');
      document.getElementById('numbers-file')?.focus();
      return;
    }
    if (checked.listError) {
      setProblem(checked.listError);
      return;
    }
    const body = await buildBody();
    const found = firstProblem(body, callees);
    if (found) {
      setProblem(`Please check the input: ${found}`);
      focusField(found);
      return;
    }
    setSending(true);
    try {
      const taskId = await api.call<number>('/voice/group/call/send', body);
      location.hash = `#/campaign/${taskId}`;
    } catch (failure) {
      setProblem(messageOf(failure));
    } finally {
      setSending(false);
    }
  };

  const columnNames =
    read && mapping
      ? Array.from({ length: read.columns }, (_, i) =>
          mapping.hasHeader ? `${cellText(read.sample[0]?.[i]) || `column ${i + 1}`}` : `column ${i + 1}`,
        )
      : [];
  const usedTexts = new Set([...placeholdersIn(voice.text), ...placeholdersIn(f.smsContent)]);
  const previewRows =
    read && mapping ? read.sample.slice(mapping.hasHeader ? 1 : 0, (mapping.hasHeader ? 1 : 0) + 10) : [];

  return (
    <section aria-labelledby="new-title">
      <PageTitle>
        <span id="new-title">New campaign</span>
      </PageTitle>
      <form id="new-campaign" onSubmit={send} noValidate>
        <fieldset>
          <legend>Campaign</legend>
          <div class="field">
            <label for="taskName">Name (2-64 characters, unique)</label>
            <input
              id="taskName"
              data-field="taskName"
              value={f.taskName}
              onInput={(e) => set({ taskName: e.currentTarget.value })}
            />
          </div>
          {account.apps.length > 1 && (
            <div class="field">
              <label for="appId">App</label>
              <select
                id="appId"
                data-field="appId"
                value={f.appId}
                onChange={(e) => set({ appId: e.currentTarget.value })}
              >
                {account.apps.map((app) => (
                  <option key={app.appId} value={app.appId}>
                    {app.name} ({app.appId})
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="field">
            <label for="displayNum">Caller number shown (optional, digits)</label>
            <input
              id="displayNum"
              data-field="displayNum"
              inputMode="numeric"
              value={f.displayNum}
              onInput={(e) => set({ displayNum: e.currentTarget.value })}
            />
          </div>
        </fieldset>

        <fieldset>
          <legend>Numbers</legend>
          <div class="field">
            <label for="numbers-file">Number list (CSV or XLSX, up to 200,000 rows)</label>
            <input
              id="numbers-file"
              data-field="numberInfoList"
              type="file"
              accept=".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                if (!file) return;
                setRead(null);
                setChecked(null);
                setProblem(null);
                setReading(true);
                worker.current?.postMessage({ type: 'read', file });
              }}
            />
          </div>
          <p role="status" class="muted" id="numbers-status">
            {reading
              ? 'Reading the list…'
              : checked
                ? `${checked.entries.length} numbers ready · ${checked.errorCount} rows with errors (left out) · ${checked.duplicates} listed twice (called once)${checked.cutTexts ? ` · ${checked.cutTexts} texts longer than 30 characters will be cut` : ''}`
                : ''}
          </p>
          {read && mapping && (
            <div id="mapping">
              <label class="check">
                <input
                  type="checkbox"
                  checked={mapping.hasHeader}
                  onChange={(e) => remap({ ...mapping, hasHeader: e.currentTarget.checked })}
                />{' '}
                The first row is a header
              </label>
              <div class="grid">
                <div class="field">
                  <label for="map-callee">calleeNumber column</label>
                  <select
                    id="map-callee"
                    value={mapping.calleeNumber}
                    onChange={(e) => remap({ ...mapping, calleeNumber: Number(e.currentTarget.value) })}
                  >
                    {columnNames.map((name, i) => (
                      <option key={name} value={i}>
                        {name}
                      </option>
                    ))}
                  </select>
                </div>
                {mapping.texts.map((column, t) => (
                  <div class="field" key={`text${t + 1}`}>
                    <label for={`map-text${t + 1}`}>
                      text{t + 1} column{usedTexts.has(`text${t + 1}`) ? ' (used in the message)' : ''}
                    </label>
                    <select
                      id={`map-text${t + 1}`}
                      value={column ?? ''}
                      onChange={(e) => {
                        const texts = [...mapping.texts];
                        texts[t] = e.currentTarget.value === '' ? null : Number(e.currentTarget.value);
                        remap({ ...mapping, texts });
                      }}
                    >
                      <option value="">none</option>
                      {columnNames.map((name, i) => (
                        <option key={name} value={i}>
                          {name}
                        </option>
                      ))}
                    </select>
                  </div>
                ))}
              </div>
              <h3>First rows</h3>
              <TableWrap label="Preview of the number list">
                <table id="preview">
                  <thead>
                    <tr>
                      <th scope="col">calleeNumber</th>
                      {mapping.texts.map(
                        (column, t) =>
                          column !== null && (
                            <th scope="col" key={t}>
                              text{t + 1}
                            </th>
                          ),
                      )}
                    </tr>
                  </thead>
                  <tbody>
                    {previewRows.map((row, r) => (
                      <tr key={r}>
                        <td>{cellText(row[mapping.calleeNumber])}</td>
                        {mapping.texts.map(
                          (column, t) => column !== null && <td key={t}>{cellText(row[column])}</td>,
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
              {checked && checked.errors.length > 0 && (
                <>
                  <h3>Rows with errors</h3>
                  <ul id="row-errors" class="row-errors">
                    {checked.errors.slice(0, 100).map((rowError) => (
                      <li key={rowError.line}>
                        Line {rowError.line}: {rowError.message}
                      </li>
                    ))}
                    {checked.errorCount > 100 && <li>…and {checked.errorCount - 100} more</li>}
                  </ul>
                </>
              )}
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>Message</legend>
          <VoiceFields
            idPrefix="voice"
            fieldPrefix=""
            value={voice}
            onChange={setVoice}
            languages={languages}
            files={files}
            sampleTexts={checked?.entries[0] ?? {}}
          />
        </fieldset>

        <fieldset>
          <legend>Schedule</legend>
          <div class="field">
            <label for="sendTime">Start at ({account.timeZone}; empty = now)</label>
            <input
              id="sendTime"
              data-field="sendTime"
              type="datetime-local"
              value={f.sendTime}
              onInput={(e) => set({ sendTime: e.currentTarget.value })}
            />
          </div>
          <p class="muted">Allowed hours ({account.timeZone}; up to 3 windows, none = any time)</p>
          {f.windows.map((window, i) => (
            <div class="grid" key={i}>
              <div class="field">
                <label for={`window${i}-from`}>Window {i + 1} from</label>
                <input
                  id={`window${i}-from`}
                  data-field={`allowSendTime[${i}].strTime`}
                  type="time"
                  value={window.strTime}
                  onInput={(e) => {
                    const windows = f.windows.map((w, j) =>
                      j === i ? { ...w, strTime: e.currentTarget.value } : w,
                    );
                    set({ windows });
                  }}
                />
              </div>
              <div class="field">
                <label for={`window${i}-to`}>Window {i + 1} until</label>
                <input
                  id={`window${i}-to`}
                  data-field={`allowSendTime[${i}].endTime`}
                  type="time"
                  value={window.endTime}
                  onInput={(e) => {
                    const windows = f.windows.map((w, j) =>
                      j === i ? { ...w, endTime: e.currentTarget.value } : w,
                    );
                    set({ windows });
                  }}
                />
              </div>
            </div>
          ))}
        </fieldset>

        <fieldset>
          <legend>Calls</legend>
          <div class="grid">
            <div class="field">
              <label for="maxRingingTime">Ring for at most (s, 20-120)</label>
              <input
                id="maxRingingTime"
                data-field="maxRingingTime"
                inputMode="numeric"
                value={f.maxRingingTime}
                onInput={(e) => set({ maxRingingTime: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="maxCalls">Call length after answer at most (s, ≤ 999)</label>
              <input
                id="maxCalls"
                data-field="maxCalls"
                inputMode="numeric"
                value={f.maxCalls}
                onInput={(e) => set({ maxCalls: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="loopCount">Play the message (times, 1-9)</label>
              <input
                id="loopCount"
                data-field="loopCount"
                inputMode="numeric"
                value={f.loopCount}
                onInput={(e) => set({ loopCount: e.currentTarget.value })}
              />
            </div>
          </div>
        </fieldset>

        <fieldset>
          <legend>SMS after the call</legend>
          <label class="check">
            <input
              type="checkbox"
              data-field="hangUpSms"
              checked={f.hangUpSms}
              onChange={(e) => set({ hangUpSms: e.currentTarget.checked })}
            />{' '}
            Send an SMS after the call
          </label>
          {f.hangUpSms && (
            <>
              <div class="field">
                <label for="smsContent">SMS text (≤ 1000, may use ${'{text1}'}…)</label>
                <textarea
                  id="smsContent"
                  data-field="smsContent"
                  value={f.smsContent}
                  onInput={(e) => set({ smsContent: e.currentTarget.value })}
                />
              </div>
              <div class="field">
                <label for="senderId">Sender id (optional, ≤ 32)</label>
                <input
                  id="senderId"
                  data-field="senderId"
                  value={f.senderId}
                  onInput={(e) => set({ senderId: e.currentTarget.value })}
                />
              </div>
              <label class="check">
                <input
                  type="checkbox"
                  checked={f.feedbackPush}
                  onChange={(e) => set({ feedbackPush: e.currentTarget.checked })}
                />{' '}
                when the callee presses a key
              </label>
              {f.feedbackPush && (
                <div class="field">
                  <label for="feedbackValue">Key (0-9)</label>
                  <input
                    id="feedbackValue"
                    data-field="feedbackValue"
                    value={f.feedbackValue}
                    onInput={(e) => set({ feedbackValue: e.currentTarget.value })}
                  />
                </div>
              )}
              <label class="check">
                <input
                  type="checkbox"
                  checked={f.successPush}
                  onChange={(e) => set({ successPush: e.currentTarget.checked })}
                />{' '}
                after an answered call
              </label>
              {f.successPush && (
                <div class="field">
                  <label for="successPushTime">Seconds after the call (1-9999)</label>
                  <input
                    id="successPushTime"
                    data-field="successPushTime"
                    value={f.successPushTime}
                    onInput={(e) => set({ successPushTime: e.currentTarget.value })}
                  />
                </div>
              )}
              <label class="check">
                <input
                  type="checkbox"
                  checked={f.failedPush}
                  onChange={(e) => set({ failedPush: e.currentTarget.checked })}
                />{' '}
                when the call failed
              </label>
              <label class="check">
                <input
                  type="checkbox"
                  checked={f.ringPush}
                  onChange={(e) => set({ ringPush: e.currentTarget.checked })}
                />{' '}
                when the phone rang
              </label>
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Agents</legend>
          <label class="check">
            <input
              type="checkbox"
              data-field="toSeat"
              checked={f.toSeat}
              onChange={(e) => set({ toSeat: e.currentTarget.checked })}
            />{' '}
            Hand answered callees to an agent
          </label>
          {f.toSeat && (
            <div class="grid">
              <div class="field">
                <label for="sipGroupId">Seat group</label>
                <select
                  id="sipGroupId"
                  data-field="sipGroupId"
                  value={f.sipGroupId}
                  onChange={(e) => set({ sipGroupId: e.currentTarget.value })}
                >
                  <option value="">choose…</option>
                  {groups.map((group) => (
                    <option key={group.voiceGroupId} value={group.voiceGroupId}>
                      {group.groupName}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="toSeatType">When</label>
                <select
                  id="toSeatType"
                  data-field="toSeatType"
                  value={f.toSeatType}
                  onChange={(e) => set({ toSeatType: e.currentTarget.value })}
                >
                  <option value="1">after the message</option>
                  <option value="2">when a key is pressed</option>
                </select>
              </div>
              {f.toSeatType === '2' && (
                <div class="field">
                  <label for="toSeatKey">Key (0-9, * or #)</label>
                  <input
                    id="toSeatKey"
                    data-field="toSeatKey"
                    value={f.toSeatKey}
                    onInput={(e) => set({ toSeatKey: e.currentTarget.value })}
                  />
                </div>
              )}
              <div class="field">
                <label for="delayTransfer">Wait before transfer (s)</label>
                <input
                  id="delayTransfer"
                  data-field="delayTransfer"
                  value={f.delayTransfer}
                  onInput={(e) => set({ delayTransfer: e.currentTarget.value })}
                />
              </div>
              <label class="check">
                <input
                  type="checkbox"
                  checked={f.outboundControl}
                  onChange={(e) => set({ outboundControl: e.currentTarget.checked })}
                />{' '}
                Pace calls to idle agents
              </label>
              {f.outboundControl && (
                <div class="field">
                  <label for="calloutRate">Calls per idle agent (1-100)</label>
                  <input
                    id="calloutRate"
                    data-field="calloutRate"
                    value={f.calloutRate}
                    onInput={(e) => set({ calloutRate: e.currentTarget.value })}
                  />
                </div>
              )}
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>Automatic redial</legend>
          <label class="check">
            <input
              type="checkbox"
              id="recall"
              checked={f.recall}
              onChange={(e) => set({ recall: e.currentTarget.checked })}
            />{' '}
            Call again in later rounds
          </label>
          {f.recall && (
            <>
              <div class="grid">
                <div class="field">
                  <label for="recallInterval">Minutes between rounds (1-1440)</label>
                  <input
                    id="recallInterval"
                    data-field="recallFlow.recallInterval"
                    value={f.recallInterval}
                    onInput={(e) => set({ recallInterval: e.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for="recallNum">Rounds (1-10)</label>
                  <input
                    id="recallNum"
                    data-field="recallFlow.recallNum"
                    value={f.recallNum}
                    onInput={(e) => set({ recallNum: e.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for="recallType">Who is called again</label>
                  <select
                    id="recallType"
                    data-field="recallFlow.recallType"
                    value={f.recallType}
                    onChange={(e) => set({ recallType: e.currentTarget.value })}
                  >
                    <option value="1">only those not answered</option>
                    <option value="0">everyone</option>
                  </select>
                </div>
              </div>
              {overrides.map((override, i) => (
                <div class="round-settings" key={i}>
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={override.enabled}
                      onChange={(e) => {
                        const enabled = e.currentTarget.checked;
                        setOverrides(overrides.map((o, j) => (j === i ? { ...o, enabled } : o)));
                      }}
                    />{' '}
                    Round {i + 1} has its own message
                  </label>
                  {override.enabled && (
                    <VoiceFields
                      idPrefix={`round${i + 1}`}
                      fieldPrefix={`recallFlow.nodeList[${i}].`}
                      value={override.voice}
                      onChange={(next) =>
                        setOverrides(overrides.map((o, j) => (j === i ? { ...o, voice: next } : o)))
                      }
                      languages={languages}
                      files={files}
                      sampleTexts={checked?.entries[0] ?? {}}
                    />
                  )}
                </div>
              ))}
            </>
          )}
        </fieldset>

        <ErrorText error={problem} id="form-problem" />
        <button type="submit" id="send" disabled={sending || reading}>
          {sending ? 'Sending…' : 'Send campaign'}
        </button>
      </form>
    </section>
  );
}
