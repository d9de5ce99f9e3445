/**
 * Live progress: the API's `/voice/events` server-sent event stream, read with fetch() and a stream
 * reader because EventSource cannot send the signed headers. One stream per tab; when it drops it is
 * opened again (with a fresh signature) after a short back-off. No polling.
 */
import { signedFetch } from './api.ts';
import type { Credentials } from './sign.ts';

export type LiveEvent =
  | { type: 'task'; data: LiveTask }
  | {
      type: 'flow';
      data: { keyId: number; taskId: number; status: number; finishNum: number; recallNum: number };
    }
  | { type: 'agent'; data: { account: string; voiceGroupId: number; state: string; callCount: number } };

export interface LiveTask {
  taskId: number;
  taskName: string;
  status: number;
  rate: number;
  numCnt: number;
  callNum: number;
  success: number;
  fail: number;
  createdTime: string;
  sourceTaskId: number;
  outRecallCount: number;
}

type Listener = (event: LiveEvent) => void;

export class LiveProgress {
  private readonly listeners = new Set<Listener>();
  private readonly stop = new AbortController();
  state: 'connecting' | 'live' | 'reconnecting' | 'stopped' = 'connecting';
  onState: (state: LiveProgress['state']) => void = () => undefined;

  constructor(private readonly creds: Credentials) {
    void this.run();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stop.abort();
    this.setState('stopped');
  }

  private setState(state: LiveProgress['state']): void {
    this.state = state;
    this.onState(state);
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stop.signal.aborted) {
      try {
        const response = await signedFetch(this.creds, '/v3/voice/events', { signal: this.stop.signal });
        if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
          throw new Error('no event stream');
        }
        this.setState('live');
        backoff = 500;
        await this.read(response.body);
      } catch {
        // dropped, refused or aborted: try again below unless stopped
      }
      if (this.stop.signal.aborted) return;
      this.setState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
  }

  /** One SSE block: `event:` and `data:` lines; comment lines (`:`) are keep-alives. */
  private dispatch(block: string): void {
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0 || (type !== 'task' && type !== 'flow' && type !== 'agent')) return;
    const event = { type, data: JSON.parse(data.join('\n')) } as LiveEvent;
    for (const listener of this.listeners) listener(event);
  }
}
