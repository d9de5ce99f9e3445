/**
 * The dialer's statements: which accounts have work, leasing an account's due calls within its limits,
 * handing leased calls to the carrier under the tasks' key-share lock, and renewing leases.
 *
 * Cost per tick follows the work leased, not the work open: accounts with runnable tasks come from a
 * loose index scan of `tasks_runnable`, an account's runnable tasks from the same index with a LIMIT,
 * and a task outside its allowed hours is pushed to its next opening the first time it is looked at.
 */
import { dialBudget, proportionalLimit } from '../../domain/pacing.ts';
import type { TaskSettings } from '../../domain/task-settings.ts';
import { TaskStatus } from '../../domain/task-status.ts';
import { isOpenAt, nextOpening } from '../../domain/windows.ts';
import type { Db } from '../db.ts';
import { countIdleAgents } from './agents.ts';
import { calleeInfoSql } from './callee-info.ts';

export interface LeasedCall {
  id: number;
  task_id: number;
  seq: number;
  callee: string;
  info: Record<string, string> | null;
}

export interface LeasedTask {
  id: number;
  settings: TaskSettings;
  round: number;
}

export interface Lease {
  calls: LeasedCall[];
  tasks: Map<number, LeasedTask>;
}

/**
 * Accounts (not disabled) with a calling task whose next dial time has come, in id order. A recursive
 * walk over `tasks_runnable` touches each account's first index entries only, however many tasks it has.
 */
export async function runnableAccounts(db: Db, now: number): Promise<number[]> {
  const rows = await db.query<{ account_id: number }>(
    `WITH RECURSIVE walk(account_id) AS (
       SELECT min(account_id) FROM tasks WHERE status = ${TaskStatus.calling} AND next_dial_at IS NOT NULL
       UNION ALL
       SELECT (SELECT min(t.account_id) FROM tasks t
               WHERE t.status = ${TaskStatus.calling} AND t.next_dial_at IS NOT NULL AND t.account_id > walk.account_id)
       FROM walk WHERE walk.account_id IS NOT NULL)
     SELECT w.account_id FROM walk w JOIN accounts a ON a.id = w.account_id AND NOT a.disabled
     WHERE (SELECT min(t.next_dial_at) FROM tasks t
            WHERE t.account_id = w.account_id AND t.status = ${TaskStatus.calling} AND t.next_dial_at IS NOT NULL) <= $1`,
    [new Date(now)],
  );
  return rows.map((row) => row.account_id);
}

/** outboundControl=1 with a seat group: the task's concurrency follows the group's idle agents (spec §5). */
function isProportional(settings: TaskSettings): boolean {
  return settings.outboundControl === 1 && settings.sipGroupId !== undefined;
}

const leaseColumns = `id, task_id, seq, callee, ${calleeInfoSql()} AS info`;

/**
 * Leases the next due calls of one account's runnable tasks, within its concurrency and calls-per-second
 * budget and `max`, in one transaction under the account row's lock (so every process counts the same
 * calls in flight). The rows are committed as 'dialling' (the attempt exists) before the carrier is
 * asked, so a crash can never lead to a second call (spec §6). Tasks outside their allowed hours are
 * deferred to their next opening; tasks with nothing left to lease are marked drained.
 */
export async function leaseCalls(
  db: Db,
  args: { accountId: number; owner: string; now: number; leaseMs: number; max: number },
): Promise<Lease> {
  const empty: Lease = { calls: [], tasks: new Map() };
  if (args.max <= 0) return empty;
  return db.transaction(async (tx) => {
    const [account] = await tx.query<{
      max_concurrency: number;
      calls_per_second: number;
      dial_tokens: number;
      tokens_at: Date | null;
      disabled: boolean;
      time_zone: string;
    }>(
      `SELECT max_concurrency, calls_per_second, dial_tokens, tokens_at, disabled, time_zone
       FROM accounts WHERE id = $1 FOR UPDATE`,
      [args.accountId],
    );
    if (!account || account.disabled) return empty;
    const [{ in_flight } = { in_flight: 0 }] = await tx.query<{ in_flight: number }>(
      "SELECT count(*)::int AS in_flight FROM calls WHERE account_id = $1 AND state = 'dialling'",
      [args.accountId],
    );
    const { budget, tokens } = dialBudget({
      maxConcurrency: account.max_concurrency,
      inFlight: in_flight,
      callsPerSecond: account.calls_per_second,
      tokens: account.dial_tokens,
      tokensAt: account.tokens_at?.getTime() ?? null,
      now: args.now,
    });
    const limit = Math.min(budget, args.max);
    if (limit <= 0) return empty;
    const at = new Date(args.now);
    // Each runnable task yields at least one call, so `limit` tasks are enough to fill the budget.
    // KEY SHARE does not wait on settles (they take NO KEY UPDATE), and SKIP LOCKED passes over a task
    // that a pause or cancel holds FOR UPDATE right now: it is about to stop.
    const picked = await tx.query<LeasedTask>(
      `SELECT id, settings, round FROM tasks
       WHERE account_id = $1 AND status = ${TaskStatus.calling} AND next_dial_at IS NOT NULL AND next_dial_at <= $2
       ORDER BY next_dial_at, id LIMIT $3 FOR KEY SHARE SKIP LOCKED`,
      [args.accountId, at, limit],
    );
    const open: LeasedTask[] = [];
    const deferred: Array<{ id: number; until: number }> = [];
    for (const task of picked) {
      const windows = task.settings.allowSendTime ?? [];
      if (isOpenAt(windows, account.time_zone, args.now)) open.push(task);
      else deferred.push({ id: task.id, until: nextOpening(windows, account.time_zone, args.now) });
    }
    if (deferred.length > 0) {
      await tx.query(
        `UPDATE tasks t SET next_dial_at = d.until FROM unnest($1::int[], $2::timestamptz[]) AS d(id, until)
         WHERE t.id = d.id`,
        [deferred.map((d) => d.id), deferred.map((d) => new Date(d.until))],
      );
    }
    const leaseUntil = new Date(args.now + args.leaseMs);
    const lease = async (taskIds: number[], n: number): Promise<LeasedCall[]> =>
      n <= 0 || taskIds.length === 0
        ? []
        : tx.query<LeasedCall>(
            `UPDATE calls SET state = 'dialling', lease_owner = $2, lease_until = $3, submit_time = $4, call_time = $4
             WHERE id IN (
               SELECT id FROM calls WHERE task_id = ANY($1::int[]) AND state = 'due'
               ORDER BY task_id, seq LIMIT $5 FOR UPDATE SKIP LOCKED)
             RETURNING ${leaseColumns}`,
            [taskIds, args.owner, leaseUntil, at, n],
          );
    const calls: LeasedCall[] = [];
    // Proportional tasks (outboundControl=1) each stay within their own agent limit.
    for (const task of open.filter((t) => isProportional(t.settings))) {
      const idle = await countIdleAgents(tx, task.settings.sipGroupId!, args.now);
      const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = $1 AND state = 'dialling'",
        [task.id],
      );
      const room = Math.min(limit - calls.length, proportionalLimit(idle, task.settings.calloutRate) - n);
      calls.push(...(await lease([task.id], room)));
    }
    const plain = open.filter((t) => !isProportional(t.settings)).map((t) => t.id);
    calls.push(...(await lease(plain, limit - calls.length)));
    if (open.length > 0) {
      // Nothing left to lease: the task drains, and finishes once its calls in flight settle.
      await tx.query(
        `UPDATE tasks t SET next_dial_at = NULL WHERE t.id = ANY($1::int[])
           AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = 'due')`,
        [open.map((t) => t.id)],
      );
    }
    await tx.query('UPDATE accounts SET dial_tokens = $2, tokens_at = $3 WHERE id = $1', [
      args.accountId,
      tokens - calls.length,
      at,
    ]);
    return { calls, tasks: new Map(open.map((task) => [task.id, task])) };
  });
}

/**
 * Hands leased calls to the carrier (`send`, called synchronously for each call whose task still
 * calls) inside a transaction that holds FOR KEY SHARE on their tasks. Pause and cancel take FOR UPDATE
 * on the task first, so they wait for this to end: once a cancel has returned, nothing of that task is
 * dialled any more, not even calls leased just before it. Calls of a task that stopped meanwhile are
 * given back: cancelled (never dialled, no record) or due again (paused). Returns how many were sent.
 */
export async function dispatchLeased(
  db: Db,
  args: { owner: string; calls: readonly LeasedCall[] },
  send: (call: LeasedCall) => void,
): Promise<number> {
  if (args.calls.length === 0) return 0;
  return db.transaction(async (tx) => {
    const taskIds = [...new Set(args.calls.map((call) => call.task_id))];
    const rows = await tx.query<{ id: number; status: number }>(
      // In id order, like the FOR UPDATE of pause and cancel, so the two can never deadlock.
      'SELECT id, status FROM tasks WHERE id = ANY($1::int[]) ORDER BY id FOR KEY SHARE',
      [taskIds],
    );
    const calling = new Set(rows.filter((row) => row.status === TaskStatus.calling).map((row) => row.id));
    const stopped = args.calls.filter((call) => !calling.has(call.task_id)).map((call) => call.id);
    if (stopped.length > 0) {
      await tx.query(
        `UPDATE calls c SET state = CASE WHEN t.status = ${TaskStatus.cancelled} THEN 'cancelled' ELSE 'due' END,
           lease_owner = NULL, lease_until = NULL, submit_time = NULL, call_time = NULL
         FROM tasks t WHERE c.id = ANY($1::int[]) AND t.id = c.task_id AND c.state = 'dialling' AND c.lease_owner = $2`,
        [stopped, args.owner],
      );
    }
    let sent = 0;
    for (const call of args.calls) {
      if (!calling.has(call.task_id)) continue;
      send(call);
      sent++;
    }
    return sent;
  });
}

/** Keeps the leases of the calls this run has in flight alive (by id: a dead run's rows are not renewed). */
export async function extendLeases(
  db: Db,
  args: { owner: string; callIds: readonly number[]; until: number },
): Promise<void> {
  if (args.callIds.length === 0) return;
  await db.query(
    `UPDATE calls SET lease_until = $3 WHERE id = ANY($1::int[]) AND state = 'dialling' AND lease_owner = $2`,
    [args.callIds, args.owner, new Date(args.until)],
  );
}
