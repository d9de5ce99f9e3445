/** The call record of spec §3, built from a settled call row; one shape for the API and the push. */
import { formatInZone } from './time.ts';

export interface CallRow {
  id: number;
  task_id: number;
  callee: string;
  info: Record<string, string> | null;
  state: string;
  submit_time: Date | null;
  call_time: Date | null;
  ringing_time: Date | null;
  answer_time: Date | null;
  hangup_time: Date | null;
  ring_duration: number | null;
  call_duration: number | null;
  termination_code: number | null;
  termination_reason: string | null;
  call_status: number | null;
  feedback_value: string | null;
  sms_status: string | null;
  seat: string | null;
  hangup_by: string | null;
}

export interface TaskOfCall {
  sourceTaskId: number | null;
  round: number;
  displayNum: string;
}

/** A call record; times are wire strings in the account's zone for the API, epoch ms in pushes. */
export interface CallRecord<Time extends string | number = string | number> {
  voiceId: number;
  taskId: number;
  sourceTaskId: number;
  outRecallCount: number;
  callee: string;
  displayNum: string;
  submitTime: Time | null;
  callTime: Time | null;
  ringingTime: Time | null;
  answerTime: Time | null;
  hangupTime: Time | null;
  ringDuration: number;
  callDuration: number;
  terminationCode: number | null;
  terminationReason: string | null;
  callStatus: number | null;
  feedbackValue: string;
  calledInfo: string;
  smsStatus: string | null;
  seat: string | null;
  /** [ours] 'callee', 'system' or 'carrier' (see HangupBy in outcome.ts); null before settled. */
  hangupBy: string | null;
}

/** `zone` formats times for the API; `'epoch'` gives epoch milliseconds, as webhooks carry. */
export function toCallRecord(row: CallRow, task: TaskOfCall, zone: 'epoch'): CallRecord<number>;
export function toCallRecord(row: CallRow, task: TaskOfCall, zone: string): CallRecord<string>;
export function toCallRecord(row: CallRow, task: TaskOfCall, zone: string): CallRecord {
  const time = (value: Date | null) =>
    zone === 'epoch' ? (value ? value.getTime() : null) : formatInZone(value, zone);
  return {
    voiceId: row.id,
    taskId: row.task_id,
    sourceTaskId: task.sourceTaskId ?? row.task_id,
    outRecallCount: task.round,
    callee: row.callee,
    displayNum: task.displayNum,
    submitTime: time(row.submit_time),
    callTime: time(row.call_time),
    ringingTime: time(row.ringing_time),
    answerTime: time(row.answer_time),
    hangupTime: time(row.hangup_time),
    ringDuration: row.ring_duration ?? 0,
    callDuration: row.call_duration ?? 0,
    terminationCode: row.termination_code,
    terminationReason: row.termination_reason,
    callStatus: row.call_status,
    feedbackValue: row.feedback_value ?? '-1',
    calledInfo: JSON.stringify(row.info ?? {}),
    smsStatus: row.sms_status,
    seat: row.seat,
    hangupBy: row.hangup_by ?? null,
  };
}

/** Seconds between two instants, rounded up to whole seconds as carriers bill. */
export function secondsBetween(from: number | null, to: number | null): number {
  if (from === null || to === null || to <= from) return 0;
  return Math.ceil((to - from) / 1000);
}
