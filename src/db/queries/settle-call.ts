import { type CallRow, secondsBetween, toCallRecord } from '../../domain/call-record.ts';
import { CallStatus, dncOutcome, interruptedOutcome, type Outcome } from '../../domain/outcome.ts';
import { smsDueFor } from '../../domain/sms-triggers.ts';
import type { TaskSettings } from '../../domain/task-settings.ts';
import { fillTemplate } from '../../domain/template.ts';
import type { Db, Queryable } from '../db.ts';
import { calleeInfoSql } from './callee-info.ts';

export interface AttemptResult extends Outcome {
  ringingTime: number | null;
  answerTime: number | null;
  hangupTime: number;
  keys: string[];
  seat: string | null;
  transferred: boolean;
  callLoss: boolean;
  /** Transferred calls: wait for the agent's answer, and agent talk time (ms). */
  seatWaitMs?: number | null;
  seatTalkMs?: number | null;
}

interface TaskForSettle {
  id: number;
  app_id: number;
  settings: TaskSettings;
  round: number;
  source_task_id: number | null;
  callback_url: string | null;
}

/**
 * Settles one attempt: the record, the task's counters, the status push and the hang-up SMS, all in one
 * transaction. Guarded by `state = 'dialling'` (and the lease owner), so settling twice changes nothing.
 */
export async function settleCall(
  db: Db,
  args: { callId: number; owner: string | null; result: AttemptResult; expiredBefore?: number },
): Promise<CallRow | null> {
  return db.transaction((tx) => settleInTx(tx, args));
}

async function settleInTx(
  tx: Queryable,
  args: { callId: number; owner: string | null; result: AttemptResult; expiredBefore?: number },
): Promise<CallRow | null> {
  const r = args.result;
  const firstKey = r.keys[0] ?? '-1';
  const [call] = await tx.query<CallRow & { call_time: Date }>(
    `UPDATE calls SET state = 'done', lease_owner = NULL, lease_until = NULL,
       ringing_time = $4, answer_time = $5, hangup_time = $6,
       ring_duration = $7, call_duration = $8, termination_code = $9, termination_reason = $10,
       call_status = $11, feedback_value = $12, seat = $13, seat_wait_ms = $14, seat_talk_ms = $15,
       hangup_by = $16
     WHERE id = $1 AND state = 'dialling'
       AND ($2::text IS NULL OR lease_owner = $2)
       AND ($3::timestamptz IS NULL OR lease_until < $3)
     RETURNING *, ${calleeInfoSql()} AS info`,
    [
      args.callId,
      args.owner,
      args.expiredBefore === undefined ? null : new Date(args.expiredBefore),
      r.ringingTime === null ? null : new Date(r.ringingTime),
      r.answerTime === null ? null : new Date(r.answerTime),
      new Date(r.hangupTime),
      0,
      secondsBetween(r.answerTime, r.hangupTime),
      r.terminationCode,
      r.terminationReason,
      r.callStatus,
      firstKey,
      r.seat,
      r.seatWaitMs ?? null,
      r.seatTalkMs ?? null,
      r.hangupBy,
    ],
  );
  if (!call) return null;
  const ringFrom = r.ringingTime ?? call.call_time.getTime();
  const ringDuration = r.ringingTime === null ? 0 : secondsBetween(ringFrom, r.answerTime ?? r.hangupTime);
  call.ring_duration = ringDuration;

  const [task] = await tx.query<TaskForSettle>(
    `SELECT t.id, t.app_id, t.settings, t.round, t.source_task_id, a.callback_url
     FROM tasks t JOIN apps a ON a.id = t.app_id WHERE t.id = $1`,
    [call.task_id],
  );
  if (!task) throw new Error(`task ${call.task_id} of call ${call.id} is missing`);

  const answered = r.callStatus === CallStatus.answered;
  await tx.query(
    `UPDATE tasks SET call_num = call_num + 1, success = success + $2, fail = fail + $3,
       rang_num = rang_num + $4, key_feedback_num = key_feedback_num + $5, toseat_num = toseat_num + $6,
       call_loss_num = call_loss_num + $7, call_duration_s = call_duration_s + $8,
       dnc_suppressed_num = dnc_suppressed_num + $9
     WHERE id = $1`,
    [
      task.id,
      answered ? 1 : 0,
      answered ? 0 : 1,
      r.ringingTime !== null || answered ? 1 : 0,
      r.keys.length > 0 ? 1 : 0,
      r.transferred ? 1 : 0,
      r.callLoss ? 1 : 0,
      call.call_duration ?? 0,
      r.terminationReason === dncOutcome.terminationReason ? 1 : 0,
    ],
  );

  const interrupted = r.terminationReason === interruptedOutcome.terminationReason;
  const due = interrupted
    ? []
    : smsDueFor(task.settings, {
        callStatus: r.callStatus,
        rang: r.ringingTime !== null,
        answerTime: r.answerTime,
        hangupTime: r.hangupTime,
        keys: r.keys,
      });
  for (const sms of due) {
    await tx.query(
      `INSERT INTO sms_outbox (call_id, task_id, trigger, recipient, sender_id, content, route, next_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (call_id, trigger) DO NOTHING`,
      [
        call.id,
        task.id,
        sms.trigger,
        call.callee,
        task.settings.senderId ?? '',
        fillTemplate(task.settings.smsContent ?? '', call.info),
        task.settings.smsAppId ?? null,
        new Date(sms.sendAt),
        new Date(r.hangupTime),
      ],
    );
  }
  await tx.query('UPDATE calls SET ring_duration = $2, sms_status = $3 WHERE id = $1', [
    call.id,
    ringDuration,
    due.length > 0 ? 'queued' : null,
  ]);
  call.sms_status = due.length > 0 ? 'queued' : null;

  if (task.callback_url) {
    const record = toCallRecord(
      call,
      { sourceTaskId: task.source_task_id, round: task.round, displayNum: task.settings.displayNum },
      'epoch',
    );
    await tx.query(
      'INSERT INTO push_outbox (app_id, call_id, payload, next_at) VALUES ($1, $2, $3::jsonb, $4)',
      [task.app_id, call.id, JSON.stringify(record), new Date(r.hangupTime)],
    );
  }
  return call;
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
  let settled = 0;
  for (const { id } of expired) {
    const row = await settleCall(db, {
      callId: id,
      owner: null,
      expiredBefore: args.now,
      result: attemptWithoutProgress(interruptedOutcome, args.now),
    });
    if (row) settled++;
  }
  return settled;
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
  const perTask = new Map<number, number>();
  for (const call of calls) perTask.set(call.task_id, (perTask.get(call.task_id) ?? 0) + 1);
  const dnc = args.outcome.terminationReason === dncOutcome.terminationReason;
  await tx.query(
    `UPDATE tasks t SET call_num = call_num + d.n, fail = fail + d.n,
       dnc_suppressed_num = dnc_suppressed_num + CASE WHEN $3 THEN d.n ELSE 0 END
     FROM unnest($1::int[], $2::int[]) AS d(id, n) WHERE t.id = d.id`,
    [[...perTask.keys()], [...perTask.values()], dnc],
  );
  const tasks = await tx.query<TaskForSettle>(
    `SELECT t.id, t.app_id, t.settings, t.round, t.source_task_id, a.callback_url
     FROM tasks t JOIN apps a ON a.id = t.app_id WHERE t.id = ANY($1::int[])`,
    [[...perTask.keys()]],
  );
  const pushing = new Map(tasks.filter((task) => task.callback_url).map((task) => [task.id, task]));
  const pushed = calls.filter((call) => pushing.has(call.task_id));
  if (pushed.length > 0) {
    await tx.query(
      `INSERT INTO push_outbox (app_id, call_id, payload, next_at)
       SELECT app_id, call_id, payload, $4 FROM unnest($1::int[], $2::int[], $3::jsonb[]) AS p(app_id, call_id, payload)`,
      [
        pushed.map((call) => pushing.get(call.task_id)!.app_id),
        pushed.map((call) => call.id),
        pushed.map((call) => {
          const task = pushing.get(call.task_id)!;
          return JSON.stringify(
            toCallRecord(
              call,
              { sourceTaskId: task.source_task_id, round: task.round, displayNum: task.settings.displayNum },
              'epoch',
            ),
          );
        }),
        at,
      ],
    );
  }
  return calls.length;
}
