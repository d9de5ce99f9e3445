/**
 * [ours] `GET /voice/events`: live progress of the signed-in account as server-sent events
 * (`text/event-stream`): `task` (status and counters of a task that changed), `flow` (a recall flow's
 * status and finished rounds) and `agent` (a SIP account's live state). The first events of a stream are
 * the account's active tasks and flows and all its agents; after that only changes are sent, plus a
 * comment line every 15 s so proxies keep the connection open.
 *
 * Authentication is the API's own: the request carries the signed headers (Api-Key, Timestamp, Sign or
 * Nonce + Signature), which is why the console reads it with fetch() and a stream reader rather than
 * EventSource, which cannot send headers. Nothing here is readable without the account's secret, and no
 * token is issued that could leak through a URL or a log.
 *
 * Where changes come from: engines in any number of processes write to the database, so one hub per
 * process reads what changed, for the accounts that have a stream open, every `tickMs` (one query each
 * for tasks, flows and agents per account, on partial indexes), and fans the differences out to that
 * account's streams. Browsers hold a stream open and never poll.
 */
import type { ServerResponse } from 'node:http';
import type { AccountRow } from '../db/queries/accounts.ts';
import { accountAgents, changedFlows, changedTasks } from '../db/queries/progress.ts';
import { effectiveStateOfRow } from '../domain/agent-state.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { Produces } from './responses.ts';
import { taskSummary } from './task-views.ts';

type Send = (event: 'task' | 'flow' | 'agent', data: Record<string, unknown>) => void;

interface Seen {
  json: string;
  /** Wall-clock ms of the last change: a task stays watched for `watchMs` after it. */
  changedAt: number;
}

interface AccountWatch {
  account: AccountRow;
  subscribers: Set<Send>;
  tasks: Map<number, Seen>;
  flows: Map<number, Seen>;
  agents: Map<string, Seen>;
  /** Engine-clock time of the previous look, minus a margin. */
  since: number;
}

const watchMs = 120_000;
const heartbeatMs = 15_000;

export class ProgressHub {
  private readonly watches = new Map<number, AccountWatch>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ApiContext,
    private readonly tickMs = 300,
  ) {}

  /** Adds a stream for `account`; the returned function removes it. */
  subscribe(account: AccountRow, send: Send): () => void {
    let watch = this.watches.get(account.id);
    if (!watch) {
      watch = {
        account,
        subscribers: new Set(),
        tasks: new Map(),
        flows: new Map(),
        agents: new Map(),
        since: this.ctx.clock.now() - 60_000 * this.ctx.clock.speed,
      };
      this.watches.set(account.id, watch);
    }
    watch.subscribers.add(send);
    // A new stream starts with what is already known; the next look adds what changed.
    for (const seen of [...watch.tasks.values(), ...watch.flows.values(), ...watch.agents.values()]) {
      const { event, data } = JSON.parse(seen.json) as { event: 'task'; data: Record<string, unknown> };
      send(event, data);
    }
    this.schedule(0);
    return () => {
      watch.subscribers.delete(send);
      if (watch.subscribers.size === 0) this.watches.delete(account.id);
    };
  }

  close(): void {
    clearTimeout(this.timer);
    this.watches.clear();
  }

  private schedule(delay: number): void {
    if (this.running || this.timer || this.watches.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delay);
  }

  private async tick(): Promise<void> {
    this.running = true;
    try {
      for (const watch of [...this.watches.values()]) await this.look(watch);
    } catch (error) {
      this.ctx.log.warn({ err: error }, 'live progress: reading changes failed; retrying');
    } finally {
      this.running = false;
      this.schedule(this.tickMs);
    }
  }

  private async look(watch: AccountWatch): Promise<void> {
    const { db, clock } = this.ctx;
    const wall = Date.now();
    const clockNow = clock.now();
    const since = watch.since;
    // The next look re-reads a margin of a few ticks, so a change committed mid-look is not missed.
    watch.since = clockNow - this.tickMs * 4 * clock.speed;
    const zone = watch.account.time_zone;
    const watched = (map: Map<number, Seen>) =>
      [...map.entries()].filter(([, seen]) => wall - seen.changedAt < watchMs).map(([id]) => id);

    const tasks = await changedTasks(db, {
      accountId: watch.account.id,
      since,
      watched: watched(watch.tasks),
    });
    for (const task of tasks) {
      this.offer(watch, watch.tasks, task.id, 'task', wall, taskSummary(task, zone));
    }
    const flows = await changedFlows(db, {
      accountId: watch.account.id,
      since,
      watched: watched(watch.flows),
    });
    for (const flow of flows) {
      this.offer(watch, watch.flows, flow.id, 'flow', wall, {
        keyId: flow.id,
        taskId: flow.task_id,
        status: flow.status,
        finishNum: flow.finish_num,
        recallNum: flow.recall_num,
      });
    }
    for (const agent of await accountAgents(db, watch.account.id)) {
      this.offer(watch, watch.agents, agent.username, 'agent', wall, {
        account: agent.username,
        voiceGroupId: agent.group_id,
        state: effectiveStateOfRow(agent, clockNow),
        callCount: agent.call_count,
      });
    }
    for (const map of [watch.tasks, watch.flows] as Map<number, Seen>[]) {
      for (const [id, seen] of map) if (wall - seen.changedAt > watchMs * 2) map.delete(id);
    }
  }

  private offer<K>(
    watch: AccountWatch,
    map: Map<K, Seen>,
    key: K,
    event: 'task' | 'flow' | 'agent',
    wall: number,
    data: Record<string, unknown>,
  ): void {
    const json = JSON.stringify({ event, data });
    const seen = map.get(key);
    if (seen?.json === json) return;
    map.set(key, { json, changedAt: wall });
    for (const send of watch.subscribers) send(event, data);
  }
}

const hubs = new WeakMap<ApiContext, ProgressHub>();

export function registerEventRoutes(app: ApiApp, ctx: ApiContext): void {
  let hub = hubs.get(ctx);
  if (!hub) {
    const created = new ProgressHub(ctx);
    hubs.set(ctx, created);
    hub = created;
  }
  const streams = new Set<ServerResponse>();
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    hub.close();
    for (const stream of streams) stream.end();
  });

  app.get(
    '/voice/events',
    {
      schema: {
        description:
          '[ours] Live progress as server-sent events (text/event-stream): `task`, `flow` and `agent` events. Authenticated with the same signed headers as every request (read it with fetch, not EventSource).',
        produces: ['text/event-stream'],
        response: Produces('text/event-stream', 'the event stream'),
      },
    },
    async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      res.write(': ringcast live progress\n\n');
      streams.add(res);
      const unsubscribe = hub.subscribe(request.account, (event, data) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
      res.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(res);
      });
    },
  );
}
