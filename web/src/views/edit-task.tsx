/** Edit a waiting or paused task (`/voice/group/call/update`): only the fields changed here are sent. */
import { useEffect, useState } from 'preact/hooks';
import { messageOf } from '../api.ts';
import { useSession } from '../context.ts';
import { ErrorText, PageTitle } from '../ui.tsx';
import { localInputToWire } from '../zone.ts';
import { numberField } from './voice-fields.tsx';

type Detail = Record<string, unknown> & {
  taskName: string;
  status: number;
  source: number;
  text: string | null;
  lan: string | null;
  maxRingingTime: number;
  maxCalls: number;
  loopCount: number;
  sendTime: string | null;
};

export function EditTaskPage({ taskId }: { taskId: number }) {
  const { api, account } = useSession();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [f, setF] = useState({
    taskName: '',
    text: '',
    sendTime: '',
    maxRingingTime: '',
    maxCalls: '',
    loopCount: '',
  });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api
      .call<Detail>(`/voice/group/call/detail/${taskId}`)
      .then((loaded) => {
        setDetail(loaded);
        setF({
          taskName: loaded.taskName,
          text: loaded.text ?? '',
          sendTime: '',
          maxRingingTime: String(loaded.maxRingingTime ?? ''),
          maxCalls: String(loaded.maxCalls ?? ''),
          loopCount: String(loaded.loopCount ?? ''),
        });
      })
      .catch((failure) => setError(messageOf(failure)));
  }, [api, taskId]);

  if (!detail) {
    return (
      <section>
        <PageTitle>Edit task {taskId}</PageTitle>
        <ErrorText error={error} />
      </section>
    );
  }
  const set = (patch: Partial<typeof f>) => setF({ ...f, ...patch });
  const save = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = { keyId: taskId };
    if (f.taskName !== detail.taskName) body.taskName = f.taskName.trim();
    if (detail.source === 3 && f.text !== (detail.text ?? ''))
      Object.assign(body, { source: 3, text: f.text, lan: detail.lan });
    if (f.sendTime) body.sendTime = localInputToWire(f.sendTime);
    if (f.maxRingingTime !== String(detail.maxRingingTime))
      body.maxRingingTime = numberField(f.maxRingingTime);
    if (f.maxCalls !== String(detail.maxCalls)) body.maxCalls = numberField(f.maxCalls);
    if (f.loopCount !== String(detail.loopCount)) body.loopCount = numberField(f.loopCount);
    try {
      await api.call('/voice/group/call/update', body);
      location.hash = `#/campaign/${taskId}`;
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <section>
      <PageTitle>Edit {detail.taskName}</PageTitle>
      <form onSubmit={save}>
        <div class="field">
          <label for="edit-name">Name</label>
          <input
            id="edit-name"
            value={f.taskName}
            onInput={(e) => set({ taskName: e.currentTarget.value })}
          />
        </div>
        {detail.source === 3 && (
          <div class="field">
            <label for="edit-text">Text-to-speech text</label>
            <textarea id="edit-text" value={f.text} onInput={(e) => set({ text: e.currentTarget.value })} />
          </div>
        )}
        <div class="field">
          <label for="edit-send">
            New start time ({account.timeZone}; now {detail.sendTime ?? 'not set'})
          </label>
          <input
            id="edit-send"
            type="datetime-local"
            value={f.sendTime}
            onInput={(e) => set({ sendTime: e.currentTarget.value })}
          />
        </div>
        <div class="grid">
          <div class="field">
            <label for="edit-ring">Ring for at most (s)</label>
            <input
              id="edit-ring"
              value={f.maxRingingTime}
              onInput={(e) => set({ maxRingingTime: e.currentTarget.value })}
            />
          </div>
          <div class="field">
            <label for="edit-max">Call length at most (s)</label>
            <input
              id="edit-max"
              value={f.maxCalls}
              onInput={(e) => set({ maxCalls: e.currentTarget.value })}
            />
          </div>
          <div class="field">
            <label for="edit-loop">Play the message (times)</label>
            <input
              id="edit-loop"
              value={f.loopCount}
              onInput={(e) => set({ loopCount: e.currentTarget.value })}
            />
          </div>
        </div>
        <ErrorText error={error} />
        <button type="submit">Save</button> <a href={`#/campaign/${taskId}`}>Back without saving</a>
      </form>
    </section>
  );
}
