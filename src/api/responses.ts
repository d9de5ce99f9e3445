/**
 * Response schemas (spec §1 envelope around each operation's `data`): they document the answer side of the
 * wire contract in docs/openapi.json, type-check what handlers return (the TypeBox type provider), and —
 * when the server is built with `checkResponses` (the test suite does) — every answer is validated against
 * them, so a field that drifts from its declared type fails a test instead of surprising a client.
 * Objects allow properties beyond those declared, so an [ours] addition is not a breaking change.
 */
import type { Readable } from 'node:stream';
import { type TSchema, Type } from '@sinclair/typebox';

const open = { additionalProperties: true } as const;

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Every JSON answer: HTTP 200, the result code twice (status/code) and its reason twice (reason/msg). */
export function Envelope<T extends TSchema>(data: T, description: string) {
  return Type.Object(
    {
      status: Type.String({ description: 'result code: "0" success, negative on refusal (spec §1)' }),
      reason: Type.String(),
      code: Type.String({ description: 'the same as status' }),
      msg: Type.String({ description: 'the same as reason' }),
      data: Type.Optional(Nullable(data)),
    },
    { description },
  );
}

/** An operation whose success carries no data. */
export const NoData = { 200: Envelope(Type.Null(), 'data is null') };

/** An operation that answers the id it created or changed. */
export const IdData = (what: string) => ({ 200: Envelope(Type.Integer(), what) });

export function PageOf<T extends TSchema>(record: T) {
  return Type.Object({
    total: Type.Integer(),
    size: Type.Integer(),
    current: Type.Integer(),
    pages: Type.Integer(),
    records: Type.Array(record),
  });
}

/** An operation that answers one page of records. */
export const PageData = <T extends TSchema>(record: T, description: string) => ({
  200: Envelope(PageOf(record), description),
});

/** A wire time in the account's zone (`yyyy-MM-dd HH:mm:ss`), or null when it has not happened. */
const Time = Nullable(Type.String());

const Wait = {
  waitReason: Nullable(
    Type.String({ description: '[ours] why the task is not dialling now (docs/api.md, waitReason)' }),
  ),
  nextDialAt: Time,
  deferredNum: Type.Integer({
    description: '[ours] callees deferred by the calling rules (docs/calling-rules.md)',
  }),
  dncSuppressedNum: Type.Integer({ description: 'callees recorded as dnc instead of being dialled' }),
};

/** A task's status and call counts, as the list and the detail both answer them. */
const TaskCounts = {
  status: Type.Integer(),
  rate: Type.Number(),
  numCnt: Type.Integer(),
  callNum: Type.Integer(),
  success: Type.Integer(),
  fail: Type.Integer(),
};

export const TaskListRecord = Type.Object(
  {
    jobId: Type.Integer(),
    taskId: Type.Integer(),
    taskName: Type.String(),
    ...TaskCounts,
    createdTime: Time,
    sourceTaskId: Type.Integer(),
    outRecallCount: Type.Integer(),
    ...Wait,
  },
  open,
);

export const TaskDetail = Type.Object(
  {
    jobId: Type.Integer(),
    taskId: Type.Integer(),
    taskName: Type.String(),
    displayNum: Type.String(),
    text: Nullable(Type.String()),
    ...TaskCounts,
    successRate: Type.Number(),
    toseatNum: Type.Integer(),
    toseatNumRate: Type.Number(),
    keyFeedbackNum: Type.Integer(),
    callLossNum: Type.Integer(),
    callLossNumRate: Type.Number(),
    callDuration: Type.Number(),
    acd: Type.Number(),
    callTotal: Type.Integer(),
    sendTime: Time,
    createdTime: Time,
    mdfTime: Time,
    finishTime: Time,
    appId: Type.Integer(),
    source: Type.Integer(),
    voiceFileId: Nullable(Type.String()),
    calloutRate: Type.Number(),
    maxCalls: Type.Integer(),
    maxRingingTime: Type.Integer(),
    loopCount: Type.Integer(),
    lan: Nullable(Type.String()),
    allowSendTime: Type.Array(Type.Object({ strTime: Type.String(), endTime: Type.String() })),
    windowZone: Type.String({ description: "'account' or 'callee' (spec §8)" }),
    weekdays: Nullable(Type.Array(Type.Integer())),
    blackoutDates: Nullable(Type.Array(Type.String())),
    optOutKey: Nullable(Type.String()),
    sipGroupName: Nullable(Type.String()),
    receivedSeatNum: Type.Integer(),
    onineSeatNum: Type.Integer({ description: 'spelled as the original API spells it' }),
    sourceTaskId: Type.Integer(),
    outRecallCount: Type.Integer(),
    ...Wait,
  },
  open,
);

export const CallRecord = Type.Object(
  {
    voiceId: Type.Integer(),
    taskId: Type.Integer(),
    sourceTaskId: Type.Integer(),
    outRecallCount: Type.Integer(),
    callee: Type.String(),
    displayNum: Type.String(),
    submitTime: Time,
    callTime: Time,
    ringingTime: Time,
    answerTime: Time,
    hangupTime: Time,
    ringDuration: Type.Integer(),
    callDuration: Type.Integer(),
    terminationCode: Nullable(Type.Integer()),
    terminationReason: Nullable(Type.String()),
    callStatus: Nullable(Type.Integer()),
    feedbackValue: Type.String(),
    calledInfo: Type.String({ description: 'JSON text of the callee text1..text10' }),
    smsStatus: Nullable(Type.String()),
    seat: Nullable(Type.String()),
    hangupBy: Nullable(
      Type.String({ description: '[ours] who ended the attempt: callee, system or carrier (docs/sip.md)' }),
    ),
  },
  open,
);

export const FlowListRecord = Type.Object(
  {
    keyId: Type.Integer(),
    taskId: Type.Integer(),
    taskName: Type.String(),
    createTime: Time,
    recallType: Type.Integer(),
    recallInterval: Type.Integer(),
    recallNum: Type.Integer(),
    finishNum: Type.Integer(),
    status: Type.Integer(),
  },
  open,
);

export const FlowNode = Type.Object(
  {
    keyId: Type.Integer(),
    nodeStatus: Type.Integer(),
    taskId: Nullable(Type.Integer()),
    reason: Nullable(Type.String()),
  },
  open,
);

export const FlowDetail = Type.Object(
  {
    keyId: Type.Integer(),
    taskId: Type.Integer(),
    taskName: Type.String(),
    recallInterval: Type.Integer(),
    recallNum: Type.Integer(),
    recallType: Type.Integer(),
    status: Type.Integer(),
    finishNum: Type.Integer(),
    reason: Nullable(Type.String()),
    createTime: Time,
    nodeList: Type.Array(FlowNode),
  },
  open,
);

export const VoiceFileRecord = Type.Object(
  {
    fileId: Type.String(),
    fileName: Type.String(),
    duration: Type.Number({ description: 'seconds, one decimal' }),
    size: Type.Integer({ description: 'bytes as stored' }),
    createdTime: Time,
  },
  open,
);

export const SeatGroup = Type.Object(
  {
    voiceGroupId: Type.Integer(),
    groupName: Type.String(),
    callinStrategy: Type.Integer(),
    countSeat: Type.Integer(),
    appId: Type.Integer(),
    onlineSeat: Type.Integer(),
    createdTime: Time,
  },
  open,
);

export const NewSipAccount = Type.Object(
  {
    groupName: Type.String(),
    phoneName: Type.String(),
    account: Type.String(),
    password: Type.String(),
    displayNum: Type.String(),
  },
  open,
);

export const SipAccountRecord = Type.Object(
  {
    groupName: Type.String(),
    phoneName: Type.String(),
    account: Type.String(),
    password: Type.String(),
    displayNum: Type.String(),
    appId: Type.Integer(),
    voiceGroupId: Type.Integer(),
    state: Type.String({ description: 'offline, idle, ringing, busy or wrapup' }),
    registeredUntil: Time,
    callCount: Type.Integer(),
  },
  open,
);

export const Language = Type.Object(
  {
    lan: Type.String(),
    name: Type.String(),
    aliases: Type.Array(Type.String()),
    accents: Type.Array(Type.Object({}, open)),
    genders: Type.Array(Type.Integer()),
    note: Type.Optional(Type.String()),
  },
  open,
);

/** A non-JSON success (audio, CSV, an event stream); refusals are still the JSON envelope. */
export function Produces(contentType: string, description: string) {
  return {
    200: {
      description,
      content: {
        [contentType]: { schema: Type.Unsafe<Uint8Array | Readable>({ type: 'string', format: 'binary' }) },
        'application/json': { schema: Envelope(Type.Null(), 'a refusal') },
      },
    },
  };
}

/** [ours] /voice/group/call/campaign: an original task and its recall rounds summed up. */
export const Campaign = Type.Object(
  {
    taskId: Type.Integer(),
    taskName: Type.String(),
    flow: Nullable(
      Type.Object(
        {
          keyId: Type.Integer(),
          status: Type.Integer(),
          recallNum: Type.Integer(),
          recallType: Type.Integer(),
          recallInterval: Type.Integer(),
          finishNum: Type.Integer(),
          reason: Nullable(Type.String()),
        },
        open,
      ),
    ),
    rounds: Type.Array(
      Type.Object(
        {
          round: Type.Integer(),
          taskId: Type.Integer(),
          status: Type.Integer(),
          numCnt: Type.Integer(),
          callNum: Type.Integer(),
          success: Type.Integer(),
          fail: Type.Integer(),
          answerRate: Type.Number(),
          createdTime: Time,
          finishTime: Time,
        },
        open,
      ),
    ),
    totals: Type.Object(
      {
        numbers: Type.Integer(),
        calls: Type.Integer(),
        answered: Type.Integer(),
        failed: Type.Integer(),
        reached: Type.Integer(),
        reachedRate: Type.Number(),
      },
      open,
    ),
    timeline: Type.Object(
      {
        bucketSeconds: Type.Integer(),
        buckets: Type.Array(
          Type.Object(
            {
              time: Time,
              calls: Type.Integer(),
              byStatus: Type.Record(Type.String(), Type.Integer()),
            },
            open,
          ),
        ),
      },
      open,
    ),
  },
  open,
);
