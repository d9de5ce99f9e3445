/**
 * The dialer's statements: which accounts have work, leasing an account's due calls within its limits,
 * handing leased calls to the carrier under the tasks' key-share lock, and renewing leases.
 *
 * Cost per tick follows the work leased, not the work open: accounts with runnable tasks come from a
 * loose index scan of `tasks_runnable`, an account's runnable tasks from the same index with a LIMIT,
 * and a task outside its allowed hours is pushed to its next opening the first time it is looked at.
 */
import {
  type Constraint,
  type DeferReasonValue,
  decodeZones,
  deferReason,
  nextAllowed,
  type ZoneRules,
} from '../../domain/calling-rules.ts';
import { attemptCapOutcome, dncOutcome } from '../../domain/outcome.ts';
import { dialBudget, proportionalLimit } from '../../domain/pacing.ts';
import type { SendWindow, TaskSettings } from '../../domain/task-settings.ts';
import { TaskStatus } from '../../domain/task-status.ts';
import type { Db, Queryable } from '../db.ts';
import { countIdleAgents } from './agents.ts';
import { calleeInfoSql } from './callee-info.ts';
import { dncLockClass } from './dnc.ts';
import { settleUndialled } from './settle-call.ts';

export interface LeasedCall {
  id: number;
  task_id: number;
  seq: number;
  callee: string;
  info: Record<string, string> | null;
  callee_zone: string | null;
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

const leaseColumns = `id, task_id, seq, callee, callee_zone, ${calleeInfoSql()} AS info`;

/** A rule set that can never be met within the search horizon is looked at again a day later. */
const retryUnmetMs = 86_400_000;

/** The task's own rules when they are read in the account's zone (the seed's allowSendTime, and §8's days). */
function accountZoneRules(settings: TaskSettings): ZoneRules {
  if (settings.windowZone === 'callee') return { windows: [] };
  return {
    windows: settings.allowSendTime ?? [],
    weekdays: settings.weekdays,
    blackoutDates: settings.blackoutDates,
  };
}

/**
 * What is checked per callee, in the callee's zone(s): the task's rules with windowZone "callee", and the
 * account's legal window always. Empty = nothing per callee (the seed path: no row is looked at twice).
 */
function calleeConstraints(
  settings: TaskSettings,
  legal: SendWindow | null,
  zones: readonly string[],
): Constraint[] {
  const constraints: Constraint[] = [];
  if (settings.windowZone === 'callee') {
    constraints.push({
      rules: {
        windows: settings.allowSendTime ?? [],
        weekdays: settings.weekdays,
        blackoutDates: settings.blackoutDates,
      },
      zones,
      windowReason: 'window',
    });
  }
  if (legal) constraints.push({ rules: { windows: [legal] }, zones, windowReason: 'legal' });
  return constraints;
}

interface Deferral {
  until: number;
  reason: DeferReasonValue;
}

function deferralOf(constraints: readonly Constraint[], now: number): Deferral | null {
  const reason = deferReason(constraints, now);
  if (reason === null) return null;
  return { until: nextAllowed(constraints, now) ?? now + retryUnmetMs, reason };
}

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
      legal_window: SendWindow | null;
      max_attempts_count: number | null;
      max_attempts_days: number | null;
    }>(
      `SELECT max_concurrency, calls_per_second, dial_tokens, tokens_at, disabled, time_zone,
         legal_window, max_attempts_count, max_attempts_days
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
      const own: Constraint[] = [
        { rules: accountZoneRules(task.settings), zones: [account.time_zone], windowReason: 'window' },
      ];
      const wait = deferralOf(own, args.now);
      if (wait === null) open.push(task);
      else deferred.push({ id: task.id, until: wait.until });
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
               SELECT id FROM calls WHERE task_id = ANY($1::int[]) AND state = 'due' AND not_before <= $4
               ORDER BY task_id, not_before, seq LIMIT $5 FOR UPDATE SKIP LOCKED)
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
    const byId = new Map(open.map((task) => [task.id, task]));
    const allowed = await deferOutsideRules(tx, {
      calls,
      tasks: byId,
      legal: account.legal_window,
      zone: account.time_zone,
      now: args.now,
    });
    const dialled =
      account.max_attempts_count !== null && account.max_attempts_days !== null
        ? await holdAttemptCap(tx, {
            accountId: args.accountId,
            owner: args.owner,
            calls: allowed,
            count: account.max_attempts_count,
            days: account.max_attempts_days,
            now: args.now,
          })
        : allowed;
    if (open.length > 0) {
      // Next dial time = the first callee's next allowed moment (unchanged while one is callable now); none
      // due: the task drains, and finishes once its calls in flight settle. Written only when it changes,
      // so a dialling task's row is not locked against its settles every tick.
      await tx.query(
        `UPDATE tasks t SET next_dial_at = m.next
         FROM (SELECT u.id, CASE WHEN f.first IS NULL THEN NULL ELSE GREATEST(f.first, tt.next_dial_at) END AS next
               FROM unnest($1::int[]) AS u(id) JOIN tasks tt ON tt.id = u.id
               CROSS JOIN LATERAL (SELECT min(c.not_before) AS first FROM calls c
                                   WHERE c.task_id = u.id AND c.state = 'due') f) m
         WHERE t.id = m.id AND t.next_dial_at IS DISTINCT FROM m.next`,
        [open.map((t) => t.id)],
      );
    }
    await tx.query('UPDATE accounts SET dial_tokens = $2, tokens_at = $3 WHERE id = $1', [
      args.accountId,
      tokens - dialled.length,
      at,
    ]);
    return { calls: dialled, tasks: byId };
  });
}

/**
 * Leased calls of tasks with per-callee rules that are outside them now go back to 'due' with their next
 * allowed moment; so do, in one statement per (task, zone set), all the task's other callable callees of
 * the same zones: a window that closes costs one update per zone, not a look at every callee every tick.
 * Returns the calls that may be dialled.
 */
async function deferOutsideRules(
  tx: Queryable,
  args: {
    calls: LeasedCall[];
    tasks: ReadonlyMap<number, LeasedTask>;
    legal: SendWindow | null;
    zone: string;
    now: number;
  },
): Promise<LeasedCall[]> {
  const verdicts = new Map<string, Deferral | null>();
  const blocked: Array<{ call: LeasedCall; wait: Deferral }> = [];
  for (const call of args.calls) {
    const task = args.tasks.get(call.task_id);
    if (!task || (task.settings.windowZone !== 'callee' && !args.legal)) continue;
    const key = `${call.task_id}|${call.callee_zone ?? ''}`;
    let wait = verdicts.get(key);
    if (wait === undefined) {
      const zones = decodeZones(call.callee_zone, args.zone);
      wait = deferralOf(calleeConstraints(task.settings, args.legal, zones), args.now);
      verdicts.set(key, wait);
    }
    if (wait) blocked.push({ call, wait });
  }
  if (blocked.length === 0) return args.calls;
  await tx.query(
    `UPDATE calls c SET state = 'due', lease_owner = NULL, lease_until = NULL, submit_time = NULL,
       call_time = NULL, not_before = d.until, defer_reason = d.reason
     FROM unnest($1::int[], $2::timestamptz[], $3::text[]) AS d(id, until, reason)
     WHERE c.id = d.id AND c.state = 'dialling'`,
    [
      blocked.map((b) => b.call.id),
      blocked.map((b) => new Date(b.wait.until)),
      blocked.map((b) => b.wait.reason),
    ],
  );
  for (const [key, wait] of verdicts) {
    if (!wait) continue;
    const split = key.indexOf('|');
    const zone = key.slice(split + 1);
    await tx.query(
      `UPDATE calls SET not_before = $4, defer_reason = $5
       WHERE task_id = $1 AND state = 'due' AND not_before <= $2 AND callee_zone IS NOT DISTINCT FROM $3`,
      [
        Number(key.slice(0, split)),
        new Date(args.now),
        zone === '' ? null : zone,
        new Date(wait.until),
        wait.reason,
      ],
    );
  }
  const held = new Set(blocked.map((b) => b.call.id));
  return args.calls.filter((call) => !held.has(call.id));
}

/**
 * maxAttemptsPerNumber: a leased call whose number already has `count` attempts in the last `days` days
 * (any task, any round of the account) is recorded as attempt_cap and not dialled. Exact with any number
 * of workers without a lock of its own: leases of one account run under its row lock (FOR UPDATE in
 * leaseCalls), and this count runs after that lock, so it sees every earlier lease committed.
 */
async function holdAttemptCap(
  tx: Queryable,
  args: { accountId: number; owner: string; calls: LeasedCall[]; count: number; days: number; now: number },
): Promise<LeasedCall[]> {
  if (args.calls.length === 0) return args.calls;
  const rows = await tx.query<{ callee: string; n: number }>(
    `SELECT callee, count(*)::int AS n FROM calls
     WHERE account_id = $1 AND callee = ANY($2::text[]) AND call_time > $3 AND NOT (id = ANY($4::int[]))
       AND termination_reason IS DISTINCT FROM $5 AND termination_reason IS DISTINCT FROM $6
     GROUP BY callee`,
    [
      args.accountId,
      [...new Set(args.calls.map((call) => call.callee))],
      new Date(args.now - args.days * 86_400_000),
      args.calls.map((call) => call.id),
      dncOutcome.terminationReason,
      attemptCapOutcome.terminationReason,
    ],
  );
  const used = new Map(rows.map((row) => [row.callee, row.n]));
  const allowed: LeasedCall[] = [];
  const capped: number[] = [];
  for (const call of args.calls) {
    const n = used.get(call.callee) ?? 0;
    if (n < args.count) {
      used.set(call.callee, n + 1);
      allowed.push(call);
    } else capped.push(call.id);
  }
  await settleUndialled(tx, {
    callIds: capped,
    owner: args.owner,
    outcome: attemptCapOutcome,
    now: args.now,
  });
  return allowed;
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
  args: { owner: string; accountId: number; now: number; calls: readonly LeasedCall[] },
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
    // The do-not-call list is read at the moment of dialling, under a shared lock that an addition to the
    // list takes exclusively: once an addition (or an opt-out) has returned, no hand-over dials that number.
    await tx.query('SELECT pg_advisory_xact_lock_shared($1::int, $2::int)', [dncLockClass, args.accountId]);
    const listed = new Set(
      (
        await tx.query<{ id: number }>(
          `SELECT c.id FROM calls c JOIN dnc d ON d.account_id = c.account_id AND d.number = c.callee
           WHERE c.id = ANY($1::int[])`,
          [args.calls.filter((call) => calling.has(call.task_id)).map((call) => call.id)],
        )
      ).map((row) => row.id),
    );
    await settleUndialled(tx, {
      callIds: [...listed],
      owner: args.owner,
      outcome: dncOutcome,
      now: args.now,
    });
    let sent = 0;
    for (const call of args.calls) {
      if (!calling.has(call.task_id) || listed.has(call.id)) continue;
      send(call);
      sent++;
    }
    return sent;
  });
}

/**
 * Gives back leased calls that were never handed to the carrier (their hand-over transaction failed, e.g.
 * the database went away): due again, with nothing of the attempt left, as a paused task's are; those of
 * a task cancelled meanwhile are cancelled, as the hand-over would have done. Only this run's own
 * `dialling` rows are touched, so a call the sweep already wrote off stays written off.
 *
 * The lease may have taken a task's last due calls and cleared its `next_dial_at` (nothing left to
 * lease); a calling task is woken again for the calls given back, or it would neither dial them nor
 * ever finish.
 */
export async function giveBackLeased(
  db: Db,
  args: { owner: string; callIds: readonly number[] },
): Promise<number> {
  if (args.callIds.length === 0) return 0;
  const rows = await db.query<{ id: number }>(
    `WITH back AS (
       UPDATE calls c SET state = CASE WHEN t.status = ${TaskStatus.cancelled} THEN 'cancelled' ELSE 'due' END,
         lease_owner = NULL, lease_until = NULL, submit_time = NULL, call_time = NULL
       FROM tasks t
       WHERE c.id = ANY($1::int[]) AND c.state = 'dialling' AND c.lease_owner = $2 AND t.id = c.task_id
       RETURNING c.id, c.task_id, c.not_before, c.state),
     woken AS (
       UPDATE tasks t SET next_dial_at = LEAST(t.next_dial_at, b.first) -- LEAST skips a NULL
       FROM (SELECT task_id, min(not_before) AS first FROM back WHERE state = 'due' GROUP BY task_id) b
       WHERE t.id = b.task_id AND t.status = ${TaskStatus.calling})
     SELECT id FROM back`,
    [args.callIds, args.owner],
  );
  return rows.length;
}

/**
 * Gives back the calls of a lease whose answer never arrived (the connection dropped around its COMMIT):
 * the server may have committed it, and then its calls sit `dialling` under this run's token although
 * this process never saw them, so never dialled them. They are found by the lease's account and moment
 * (a lease stamps `submit_time` with it), less the calls this process does know about (`knownIds`: in
 * flight, or dialled and left to the sweep), and given back as above. Without this they would wait for
 * their lease to expire and be written off as interrupted: callees skipped, never called.
 */
export async function giveBackUnconfirmedLease(
  db: Db,
  args: { owner: string; accountId: number; at: number; knownIds: readonly number[] },
): Promise<number> {
  const orphans = await db.query<{ id: number }>(
    `SELECT id FROM calls
     WHERE account_id = $1 AND state = 'dialling' AND lease_owner = $2 AND submit_time = $3
       AND NOT (id = ANY($4::int[]))`,
    [args.accountId, args.owner, new Date(args.at), args.knownIds],
  );
  return giveBackLeased(db, { owner: args.owner, callIds: orphans.map((row) => row.id) });
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
