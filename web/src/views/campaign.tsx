/**
 * One campaign: the original task and all its recall rounds, summed up and controlled. Numbers come from
 * the API (`/voice/group/call/campaign`, `detail`, `recallFlow/queryDetail`) and are re-read when the live
 * stream says one of the campaign's tasks or its flow changed.
 */
import { useEffect, useState } from 'preact/hooks';
import { messageOf } from '../api.ts';
import { useSession } from '../context.ts';
import { Bar, ErrorText, Num, PageTitle, saveBlob, TableWrap } from '../ui.tsx';
import { flowActions, flowStatusWords, taskActions, taskStatusWords, waitInWords } from '../words.ts';
import { nowInZone } from '../zone.ts';
import { AnswerRateChart, CallsOverTimeChart, type TimeBucket } from './charts.tsx';

interface Round {
  round: number;
  taskId: number;
  status: number;
  numCnt: number;
  callNum: number;
  success: number;
  fail: number;
  answerRate: number;
  createdTime: string;
  finishTime: string | null;
}

interface Campaign {
  taskId: number;
  taskName: string;
  flow: {
    keyId: number;
    status: number;
    recallNum: number;
    recallType: number;
    recallInterval: number;
    finishNum: number;
    reason: string | null;
  } | null;
  rounds: Round[];
  totals: {
    numbers: number;
    calls: number;
    answered: number;
    failed: number;
    reached: number;
    reachedRate: number;
  };
  timeline: { bucketSeconds: number; buckets: TimeBucket[] };
}

interface FlowNode {
  keyId: number;
  round: number;
  taskId: number | null;
  nodeStatus: number;
  dueTime: string | null;
  reason: string | null;
}

type Detail = Record<string, unknown> & {
  status: number;
  waitReason?: string | null;
  nextDialAt?: string | null;
};

export function CampaignPage({ taskId }: { taskId: number }) {
  const { api, live, account } = useSession();
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [details, setDetails] = useState<Record<number, Detail>>({});
  const [nodes, setNodes] = useState<FlowNode[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [resendName, setResendName] = useState('');
  const [flowEdit, setFlowEdit] = useState<{
    recallInterval: number;
    recallNum: number;
    recallType: number;
  } | null>(null);

  useEffect(() => {
    let stale = false;
    (async () => {
      const next = await api.call<Campaign>('/voice/group/call/campaign', { taskId });
      const loaded: Record<number, Detail> = {};
      for (const round of next.rounds) {
        loaded[round.taskId] = await api.call<Detail>(`/voice/group/call/detail/${round.taskId}`);
      }
      const flowNodes = next.flow
        ? (
            await api.call<{ nodeList: FlowNode[] }>('/voice/recallFlow/queryDetail', {
              keyId: next.flow.keyId,
            })
          ).nodeList
        : [];
      if (stale) return;
      setCampaign(next);
      setDetails(loaded);
      setNodes(flowNodes);
      setError(null);
    })().catch((failure) => !stale && setError(messageOf(failure)));
    return () => {
      stale = true;
    };
  }, [api, taskId, version]);

  // Re-read when the stream reports a change to this campaign (at most every 700 ms).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const refresh = () => {
      if (timer) return;
      const wait = Math.max(0, 700 - (Date.now() - last));
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        setVersion((n) => n + 1);
      }, wait);
    };
    const off = live.subscribe((event) => {
      if (event.type === 'task' && (event.data.sourceTaskId === taskId || event.data.taskId === taskId))
        refresh();
      if (event.type === 'flow' && event.data.taskId === taskId) refresh();
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [live, taskId]);

  const act = async (what: string, path: string, body: unknown) => {
    setNotice(null);
    try {
      await api.call(path, body);
      setError(null);
      setNotice(what);
      setVersion((n) => n + 1);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  if (!campaign) {
    return (
      <section>
        <PageTitle>Campaign {taskId}</PageTitle>
        <ErrorText error={error} />
        {!error && <p class="muted">Loading…</p>}
      </section>
    );
  }
  const original = campaign.rounds[0]!;
  const flow = campaign.flow;
  const exportCsv = async () => {
    try {
      const blob = await api.blob('/voice/recordGroupExport', { params: { sourceTaskId: campaign.taskId } });
      saveBlob(blob, `records-${campaign.taskId}.csv`);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <section aria-labelledby="campaign-title">
      <PageTitle>
        <span id="campaign-title">{campaign.taskName}</span>
      </PageTitle>
      <p class="muted">
        Campaign of task {campaign.taskId}
        {flow && (
          <>
            {' '}
            · recall flow {flow.keyId}: <Num check="flow.status" value={flowStatusWords[flow.status]} />,{' '}
            <Num check="flow.finishNum" value={flow.finishNum} /> of{' '}
            <Num check="flow.recallNum" value={flow.recallNum} /> rounds done, every {flow.recallInterval}{' '}
            min, {flow.recallType === 1 ? 'failed numbers only' : 'all numbers'}
          </>
        )}
      </p>
      {flow?.reason && <p class="error">{flow.reason}</p>}
      <ErrorText error={error} />
      <p class="notice" role="status">
        {notice ?? ''}
      </p>

      <dl class="cards" id="totals">
        <div>
          <dt>Numbers</dt>
          <dd>
            <Num check="totals.numbers" value={campaign.totals.numbers} />
          </dd>
        </div>
        <div>
          <dt>Calls made</dt>
          <dd>
            <Num check="totals.calls" value={campaign.totals.calls} />
          </dd>
        </div>
        <div>
          <dt>Answered</dt>
          <dd>
            <Num check="totals.answered" value={campaign.totals.answered} />
          </dd>
        </div>
        <div>
          <dt>Failed calls</dt>
          <dd>
            <Num check="totals.failed" value={campaign.totals.failed} />
          </dd>
        </div>
        <div>
          <dt>People reached</dt>
          <dd>
            <Num check="totals.reached" value={campaign.totals.reached} /> (
            <Num check="totals.reachedRate" value={campaign.totals.reachedRate} />
            %)
          </dd>
        </div>
      </dl>

      <h2>Rounds</h2>
      <TableWrap label="Rounds">
        <table id="rounds">
          <thead>
            <tr>
              <th scope="col">Round</th>
              <th scope="col">Task</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Numbers</th>
              <th scope="col">Dialled</th>
              <th scope="col">Answered</th>
              <th scope="col">Failed</th>
              <th scope="col">Answer rate %</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {campaign.rounds.map((round) => {
              const detail = details[round.taskId];
              const waiting = detail
                ? waitInWords(
                    { ...detail, outRecallCount: round.round },
                    account.timeZone,
                    nowInZone(account.timeZone).slice(0, 10),
                  )
                : null;
              const can = taskActions(round.status, round.round);
              const label = round.round === 0 ? 'original' : `round ${round.round}`;
              return (
                <tr key={round.taskId} data-round={round.round}>
                  <th scope="row">{label}</th>
                  <td>
                    <Num check={`round.${round.round}.taskId`} value={round.taskId} />
                  </td>
                  <td class="status">
                    <Num check={`round.${round.round}.status`} value={taskStatusWords[round.status]} />
                    {waiting && <span class="wait"> · {waiting}</span>}
                  </td>
                  <td>
                    <Bar
                      percent={round.numCnt ? Math.round((round.callNum / round.numCnt) * 10_000) / 100 : 0}
                      label={`${label} progress`}
                    />
                  </td>
                  <td>
                    <Num check={`round.${round.round}.numCnt`} value={round.numCnt} />
                  </td>
                  <td>
                    <Num check={`round.${round.round}.callNum`} value={round.callNum} />
                  </td>
                  <td>
                    <Num check={`round.${round.round}.success`} value={round.success} />
                  </td>
                  <td>
                    <Num check={`round.${round.round}.fail`} value={round.fail} />
                  </td>
                  <td>
                    <Num check={`round.${round.round}.answerRate`} value={round.answerRate} />
                  </td>
                  <td class="actions">
                    {can.pause && (
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          act(`Paused ${label}.`, '/voice/group/call/provisional', {
                            jobIdList: [round.taskId],
                          })
                        }
                      >
                        Pause <span class="sr-only">{label}</span>
                      </button>
                    )}
                    {can.resume && (
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          act(`Resumed ${label}.`, '/voice/group/call/resume', { jobIdList: [round.taskId] })
                        }
                      >
                        Resume <span class="sr-only">{label}</span>
                      </button>
                    )}
                    {can.cancel && (
                      <button
                        type="button"
                        class="danger"
                        onClick={() => {
                          if (confirm(`Cancel ${label}? Numbers not yet dialled will not be called.`)) {
                            void act(`Cancelled ${label}.`, '/voice/group/call/cancel', {
                              taskIdList: [round.taskId],
                            });
                          }
                        }}
                      >
                        Cancel <span class="sr-only">{label}</span>
                      </button>
                    )}
                    {can.edit && (
                      <a class="button secondary" href={`#/edit/${round.taskId}`}>
                        Edit <span class="sr-only">{label}</span>
                      </a>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>

      {taskActions(original.status, 0).resend && (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void act('Resent the failed numbers as a new task.', '/voice/group/call/resend', {
              keyId: original.taskId,
              appId: details[original.taskId]?.appId ?? account.apps[0]?.appId,
              taskName: resendName.trim(),
              resendType: 1,
            });
          }}
        >
          <label for="resend-name">Resend failed numbers as a new task named</label>
          <input
            id="resend-name"
            required
            value={resendName}
            onInput={(e) => setResendName(e.currentTarget.value)}
          />
          <button type="submit">Resend failed</button>
        </form>
      )}

      {flow && (
        <>
          <h2>Recall rounds</h2>
          <TableWrap label="Recall rounds">
            <table id="nodes">
              <thead>
                <tr>
                  <th scope="col">Round</th>
                  <th scope="col">Status</th>
                  <th scope="col">Task</th>
                  <th scope="col">Due</th>
                  <th scope="col">Note</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((node) => (
                  <tr key={node.keyId}>
                    <th scope="row">round {node.round}</th>
                    <td>
                      <Num check={`node.${node.round}.status`} value={flowStatusWords[node.nodeStatus]} />
                    </td>
                    <td>
                      <Num check={`node.${node.round}.taskId`} value={node.taskId} />
                    </td>
                    <td>
                      <Num check={`node.${node.round}.dueTime`} value={node.dueTime} />
                    </td>
                    <td>{node.reason ?? ''}</td>
                    <td>
                      {node.nodeStatus === 0 && (
                        <button
                          type="button"
                          class="danger"
                          onClick={() =>
                            act(`Cancelled round ${node.round} and later.`, '/voice/recallFlow/cancel', {
                              type: 3,
                              id: node.keyId,
                            })
                          }
                        >
                          Cancel round {node.round} and later
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <p class="actions">
            {flowActions(flow.status).cancel && (
              <button
                type="button"
                class="danger"
                onClick={() =>
                  act('Cancelled the recall flow.', '/voice/recallFlow/cancel', { type: 1, id: flow.keyId })
                }
              >
                Cancel recall flow
              </button>
            )}
            {flowActions(flow.status).edit && !flowEdit && (
              <button
                type="button"
                class="secondary"
                onClick={() =>
                  setFlowEdit({
                    recallInterval: flow.recallInterval,
                    recallNum: flow.recallNum,
                    recallType: flow.recallType,
                  })
                }
              >
                Edit recall flow
              </button>
            )}
          </p>
          {flowEdit && (
            <form
              class="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                void act('Recall flow updated.', '/voice/recallFlow/update', {
                  keyId: flow.keyId,
                  ...flowEdit,
                }).then(() => setFlowEdit(null));
              }}
            >
              <label for="flow-interval">Minutes between rounds</label>
              <input
                id="flow-interval"
                type="number"
                min={1}
                max={1440}
                value={flowEdit.recallInterval}
                onInput={(e) => setFlowEdit({ ...flowEdit, recallInterval: Number(e.currentTarget.value) })}
              />
              <label for="flow-num">Rounds</label>
              <input
                id="flow-num"
                type="number"
                min={1}
                max={10}
                value={flowEdit.recallNum}
                onInput={(e) => setFlowEdit({ ...flowEdit, recallNum: Number(e.currentTarget.value) })}
              />
              <label for="flow-type">Call again</label>
              <select
                id="flow-type"
                value={flowEdit.recallType}
                onChange={(e) => setFlowEdit({ ...flowEdit, recallType: Number(e.currentTarget.value) })}
              >
                <option value={1}>failed numbers only</option>
                <option value={0}>all numbers</option>
              </select>
              <p class="muted">
                Saving replaces per-round settings: every round then uses the original's message.
              </p>
              <button type="submit">Save recall flow</button>
              <button type="button" class="secondary" onClick={() => setFlowEdit(null)}>
                Keep as it is
              </button>
            </form>
          )}
        </>
      )}

      <h2>Charts</h2>
      <div class="charts">
        <AnswerRateChart
          rounds={campaign.rounds.map((round) => ({
            label: round.round === 0 ? 'original' : `round ${round.round}`,
            percent: round.answerRate,
          }))}
        />
        <CallsOverTimeChart
          buckets={campaign.timeline.buckets}
          bucketSeconds={campaign.timeline.bucketSeconds}
        />
      </div>

      <h2>Call records</h2>
      <p class="actions">
        <a class="button secondary" href={`#/records?source=${campaign.taskId}`}>
          See the call records
        </a>
        <button type="button" class="secondary" onClick={exportCsv}>
          Export CSV
        </button>
      </p>
    </section>
  );
}
