import { type CallRow, secondsBetween, toCallRecord } from '../../domain/call-record.ts';
import {
  type AttemptResult,
  CallStatus,
  dncOutcome,
  interruptedOutcome,
  type Outcome,
} from '../../domain/outcome.ts';
import { smsDueFor } from '../../domain/sms-triggers.ts';
import { SmsStatus } from '../../domain/stored-states.ts';
import type { TaskSettings } from '../../domain/task-settings.ts';
import { fillTemplate } from '../../domain/template.ts';
import type { Db, Queryable } from '../db.ts';
import { calleeInfoSql } from './callee-info.ts';
import { addTaskCounts, emptyDelta, type TaskCountDelta } from './task-counts.ts';

export type { AttemptResult } from '../../domain/outcome.ts';

interface TaskForSettle {
  id: number;
  app_id: number;
  settings: TaskSettings;
  round: number;
  source_task_id: number | null;
  callback_url: string | null;
}

/** One attempt's result, to be recorded. */
export interface Settlement {
  callId: number;
  result: AttemptResult;
}

/** Who may settle: the lease owner, or (owner null) anyone once the lease expired before `expiredBefore`. */
export interface SettleFence {
  owner: string | null;
  expiredBefore?: number;
}

/**
 * Settles a batch of attempts in one transaction of a fixed number of statements however large the batch:
 * the records (one UPDATE from arrays, fenced per row by state and lease), the tasks' counters (one summed
 * delta per task, see task-counts.ts), the hang-up SMS and the status pushes (INSERTs from arrays). Rows
 * already settled (or not this owner's) are skipped and left out of every count, so a batch that is
 * retried after an unknown outcome, or raced by a lease sweep, changes nothing twice. Returns the rows it
 * settled.
 */
export async function settleCalls(
  db: Db,
  args: SettleFence & { settlements: readonly Settlement[] },
): Promise<CallRow[]> {
  if (args.settlements.length === 0) return [];
  return db.transaction((tx) => settleInTx(tx, args));
}

async function settleInTx(
  tx: Queryable,
  args: SettleFence & { settlements: readonly Settlement[] },
): Promise<CallRow[]> {
  const ids = args.settlements.map((s) => s.callId);
  // The tasks first (a plain read): their SMS settings decide sms_status, written by the one UPDATE.
  const tasks = await tx.query<TaskForSettle & { call_id: number }>(
    `SELECT c.id AS call_id, t.id, t.app_id, t.settings, t.round, t.source_task_id, a.callback_url
     FROM calls c JOIN tasks t ON t.id = c.task_id JOIN apps a ON a.id = t.app_id
     WHERE c.id = ANY($1::int[])`,
    [ids],
  );
  const taskOfCall = new Map(tasks.map((task) => [task.call_id, task]));
  const planned = args.settlements
    .filter((s) => taskOfCall.has(s.callId))
    .map((s) => {
      const r = s.result;
      const task = taskOfCall.get(s.callId)!;
      const interrupted = r.terminationReason === interruptedOutcome.terminationReason;
      const sms = interrupted
        ? []
        : smsDueFor(task.settings, {
            callStatus: r.callStatus,
            rang: r.ringingTime !== null,
            answerTime: r.answerTime,
            hangupTime: r.hangupTime,
            keys: r.keys,
          });
      return { ...s, task, sms };
    });
  const at = (ms: number | null) => (ms === null ? null : new Date(ms));
  const calls = await tx.query<CallRow>(
    `UPDATE calls c SET state = 'done', lease_owner = NULL, lease_until = NULL,
       ringing_time = u.ringing_time, answer_time = u.answer_time, hangup_time = u.hangup_time,
       ring_duration = u.ring_duration, call_duration = u.call_duration,
       termination_code = u.termination_code, termination_reason = u.termination_reason,
       call_status = u.call_status, feedback_value = u.feedback_value, seat = u.seat,
       seat_wait_ms = u.seat_wait_ms, seat_talk_ms = u.seat_talk_ms, hangup_by = u.hangup_by,
       sms_status = u.sms_status
     FROM unnest($3::int[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::int[], $8::int[],
       $9::int[], $10::text[], $11::smallint[], $12::text[], $13::text[], $14::int[], $15::int[], $16::text[],
       $17::text[])
       AS u(id, ringing_time, answer_time, hangup_time, ring_duration, call_duration, termination_code,
         termination_reason, call_status, feedback_value, seat, seat_wait_ms, seat_talk_ms, hangup_by, sms_status)
     WHERE c.id = u.id AND c.state = 'dialling'
       AND ($1::text IS NULL OR c.lease_owner = $1)
       AND ($2::timestamptz IS NULL OR c.lease_until < $2)
     RETURNING c.*, ${calleeInfoSql('c')} AS info`,
    [
      args.owner,
      args.expiredBefore === undefined ? null : new Date(args.expiredBefore),
      planned.map((p) => p.callId),
      planned.map((p) => at(p.result.ringingTime)),
      planned.map((p) => at(p.result.answerTime)),
      planned.map((p) => new Date(p.result.hangupTime)),
      planned.map(({ result: r }) =>
        r.ringingTime === null ? 0 : secondsBetween(r.ringingTime, r.answerTime ?? r.hangupTime),
      ),
      planned.map(({ result: r }) => secondsBetween(r.answerTime, r.hangupTime)),
      planned.map((p) => p.result.terminationCode),
      planned.map((p) => p.result.terminationReason),
      planned.map((p) => p.result.callStatus),
      planned.map((p) => p.result.keys[0] ?? '-1'),
      planned.map((p) => p.result.seat),
      planned.map((p) => p.result.seatWaitMs ?? null),
      planned.map((p) => p.result.seatTalkMs ?? null),
      planned.map((p) => p.result.hangupBy),
      planned.map((p) => (p.sms.length > 0 ? SmsStatus.queued : null)),
    ],
  );
  if (calls.length === 0) return [];
  const plan = new Map(planned.map((p) => [p.callId, p]));
  const settled = calls.map((call) => ({ call, ...plan.get(call.id)! }));

  const deltas = new Map<number, TaskCountDelta>();
  for (const { call, result: r, task } of settled) {
    const delta = deltas.get(task.id) ?? emptyDelta(task.id);
    const answered = r.callStatus === CallStatus.answered;
    delta.callNum++;
    delta.success += answered ? 1 : 0;
    delta.fail += answered ? 0 : 1;
    delta.rangNum += r.ringingTime !== null || answered ? 1 : 0;
    delta.keyFeedbackNum += r.keys.length > 0 ? 1 : 0;
    delta.toseatNum += r.transferred ? 1 : 0;
    delta.callLossNum += r.callLoss ? 1 : 0;
    delta.callDurationS += call.call_duration ?? 0;
    delta.dncSuppressedNum += r.terminationReason === dncOutcome.terminationReason ? 1 : 0;
    deltas.set(task.id, delta);
  }
  await addTaskCounts(tx, deltas.values());

  const texts = settled.flatMap(({ call, task, sms, result }) =>
    sms.map((due) => ({ call, task, due, hangupTime: result.hangupTime })),
  );
  if (texts.length > 0) {
    await tx.query(
      `INSERT INTO sms_outbox (call_id, task_id, trigger, recipient, sender_id, content, route, next_at, updated_at)
       SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::timestamptz[], $9::timestamptz[])
       ON CONFLICT (call_id, trigger) DO NOTHING`,
      [
        texts.map((t) => t.call.id),
        texts.map((t) => t.task.id),
        texts.map((t) => t.due.trigger),
        texts.map((t) => t.call.callee),
        texts.map((t) => t.task.settings.senderId ?? ''),
        texts.map((t) => fillTemplate(t.task.settings.smsContent ?? '', t.call.info)),
        texts.map((t) => t.task.settings.smsAppId ?? null),
        texts.map((t) => new Date(t.due.sendAt)),
        texts.map((t) => new Date(t.hangupTime)),
      ],
    );
  }
  await queuePushes(tx, settled);
  return calls;
}

/** Status pushes (spec §3) for settled calls whose app has a callback URL, from arrays. */
async function queuePushes(
  tx: Queryable,
  settled: ReadonlyArray<{ call: CallRow; task: TaskForSettle }>,
): Promise<void> {
  const pushed = settled.filter(({ task }) => task.callback_url);
  if (pushed.length === 0) return;
  await tx.query(
    `INSERT INTO push_outbox (app_id, call_id, payload, next_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::jsonb[], $4::timestamptz[])`,
    [
      pushed.map(({ task }) => task.app_id),
      pushed.map(({ call }) => call.id),
      pushed.map(({ call, task }) =>
        JSON.stringify(
          toCallRecord(
            call,
            { sourceTaskId: task.source_task_id, round: task.round, displayNum: task.settings.displayNum },
            'epoch',
          ),
        ),
      ),
      pushed.map(({ call }) => call.hangup_time),
    ],
  );
}

/** An attempt with the given outcome and no progress: nothing rang, nothing was answered. */
export function attemptWithoutProgress(outcome: Outcome, at: number): AttemptResult {
  return {
    ...outcome,
    ringingTime: null,
    answerTime: null,
    hangupTime: at,
    keys: [],
    seat: null,
    transferred: false,
    callLoss: false,
  };
}

/**
 * Settles attempts whose lease expired as callStatus 60 'interrupted', whoever leased them: their run
 * died, lost its database, or leased them and never got to dial them. They are never re-dialled in that
 * round: a duplicate call is worse than a missed one (spec §6). `skipIds` are calls the sweeping run is
 * itself still running (its renewal may simply be late); another process would still take them over.
 */
export async function settleExpiredLeases(
  db: Db,
  args: { now: number; skipIds?: readonly number[]; batch?: number },
): Promise<number> {
  const expired = await db.query<{ id: number }>(
    `SELECT id FROM calls WHERE state = 'dialling' AND lease_until < $1 AND NOT (id = ANY($3::int[]))
     ORDER BY lease_until LIMIT $2`,
    [new Date(args.now), args.batch ?? 200, args.skipIds ?? []],
  );
  const settled = await settleCalls(db, {
    owner: null,
    expiredBefore: args.now,
    settlements: expired.map(({ id }) => ({
      callId: id,
      result: attemptWithoutProgress(interruptedOutcome, args.now),
    })),
  });
  return settled.length;
}

/**
 * Settles leased calls that are not dialled at all (a do-not-call number, a number at its attempt cap),
 * set-based: a handful of statements however many there are, inside the caller's lease or hand-over
 * transaction. Each gets its record (pushed like any other) and counts in call_num and fail, and in
 * dncSuppressedNum for `dnc`; no hang-up SMS is queued: nothing reached the callee, and a number on the
 * do-not-call list must not be texted either.
 */
export async function settleUndialled(
  tx: Queryable,
  args: { callIds: readonly number[]; owner: string; outcome: Outcome; now: number },
): Promise<number> {
  if (args.callIds.length === 0) return 0;
  const at = new Date(args.now);
  const calls = await tx.query<CallRow>(
    `UPDATE calls SET state = 'done', lease_owner = NULL, lease_until = NULL, hangup_time = $3,
       ring_duration = 0, call_duration = 0, termination_code = $4, termination_reason = $5,
       call_status = $6, feedback_value = '-1', hangup_by = $7
     WHERE id = ANY($1::int[]) AND state = 'dialling' AND lease_owner = $2
     RETURNING *, ${calleeInfoSql()} AS info`,
    [
      args.callIds,
      args.owner,
      at,
      args.outcome.terminationCode,
      args.outcome.terminationReason,
      args.outcome.callStatus,
      args.outcome.hangupBy,
    ],
  );
  if (calls.length === 0) return 0;
  const dnc = args.outcome.terminationReason === dncOutcome.terminationReason;
  const deltas = new Map<number, TaskCountDelta>();
  for (const call of calls) {
    const delta = deltas.get(call.task_id) ?? emptyDelta(call.task_id);
    delta.callNum++;
    delta.fail++;
    delta.dncSuppressedNum += dnc ? 1 : 0;
    deltas.set(call.task_id, delta);
  }
  await addTaskCounts(tx, deltas.values());
  const tasks = await tx.query<TaskForSettle>(
    `SELECT t.id, t.app_id, t.settings, t.round, t.source_task_id, a.callback_url
     FROM tasks t JOIN apps a ON a.id = t.app_id WHERE t.id = ANY($1::int[])`,
    [[...deltas.keys()]],
  );
  const taskById = new Map(tasks.map((task) => [task.id, task]));
  await queuePushes(
    tx,
    calls.map((call) => ({ call, task: taskById.get(call.task_id)! })),
  );
  return calls.length;
}
