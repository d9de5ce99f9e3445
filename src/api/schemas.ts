/**
 * Request schemas shared by several resources (spec §2, §4, §5). Single-field rules live here;
 * rules across fields are in src/domain/task-settings.ts. No defaults here: an update must not reset
 * what the client left out.
 */
import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { idStringPattern, maxId } from '../domain/ids.ts';

/** Every id column is int4: ids past 2^31-1 are bad input (-22), never a database error. */
export const Id = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: maxId, ...(description ? { description } : {}) });

const flag = Type.Integer({ minimum: 0, maximum: 1 });
const opt = Type.Optional;

export const voiceContentProps = {
  source: opt(
    Type.Integer({ minimum: 1, maximum: 3, description: '1 voice file, 2 upload in request, 3 TTS' }),
  ),
  voiceFileId: opt(
    Type.String({ pattern: idStringPattern, description: 'id of a voice file of this account' }),
  ),
  uploadName: opt(Type.String({ minLength: 5, maxLength: 32 })),
  baseFile: opt(Type.String({ description: 'base64 audio (source=2)' })),
  text: opt(Type.String({ maxLength: 1000 })),
  lan: opt(Type.String({ minLength: 2, maxLength: 12 })),
  speakingRate: opt(Type.Number({ minimum: 0.25, maximum: 4 })),
  ssmlGender: opt(Type.Integer({ minimum: 1, maximum: 2, description: '1 male, 2 female' })),
  accent: opt(Type.Integer({ minimum: 1, maximum: 9999, description: 'country calling code of the accent' })),
} satisfies TProperties;

export const smsProps = {
  hangUpSms: opt(flag),
  smsAppId: opt(Type.String({ maxLength: 64 })),
  smsContent: opt(Type.String({ maxLength: 1000 })),
  senderId: opt(Type.String({ maxLength: 32 })),
  feedbackPush: opt(flag),
  feedbackValue: opt(Type.String({ pattern: '^[0-9]$' })),
  successPush: opt(flag),
  successPushTime: opt(Type.Integer({ minimum: 1, maximum: 9999 })),
  failedPush: opt(flag),
  ringPush: opt(flag),
} satisfies TProperties;

export const agentProps = {
  toSeat: opt(flag),
  sipGroupId: opt(Id('seat group (voiceGroupId) of the same app')),
  outboundControl: opt(flag),
  calloutRate: opt(Type.Integer({ minimum: 1, maximum: 100 })),
  toSeatType: opt(Type.Integer({ minimum: 1, maximum: 2 })),
  toSeatKey: opt(Type.String({ pattern: '^[0-9*#]$' })),
  delayTransfer: opt(Type.Integer({ minimum: 0, maximum: 600 })),
} satisfies TProperties;

/** Calling rules (spec §8); cross-field and date rules in src/domain/task-settings.ts (checkRuleSettings). */
export const ruleProps = {
  windowZone: opt(
    Type.Union([Type.Literal('account'), Type.Literal('callee')], {
      description: "'account' (default): windows in the account's zone; 'callee': in the callee's zone",
    }),
  ),
  weekdays: opt(
    Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
      maxItems: 7,
      description: 'ISO weekdays: 1 Monday .. 7 Sunday',
    }),
  ),
  blackoutDates: opt(
    Type.Array(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), {
      maxItems: 366,
      description: 'YYYY-MM-DD dates with no calls, in the windows zone',
    }),
  ),
  optOutKey: opt(
    Type.String({ pattern: '^[0-9*#]$', description: 'the key that adds the callee to do-not-call' }),
  ),
} satisfies TProperties;

export const nodeProps = { ...voiceContentProps, ...smsProps, ...agentProps, ...ruleProps };
export const NodeSchema = Type.Object(nodeProps);
export type NodeInput = Static<typeof NodeSchema>;

const hhmm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
export const wireTime = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$' });

export const taskSettingProps = {
  ...nodeProps,
  displayNum: opt(Type.String({ pattern: '^[0-9]{0,20}$' })),
  sendTime: opt(wireTime),
  loopCount: opt(Type.Integer({ minimum: 1, maximum: 9 })),
  maxCalls: opt(Type.Integer({ minimum: 1, maximum: 999 })),
  maxRingingTime: opt(Type.Integer({ minimum: 20, maximum: 120 })),
  allowSendTime: opt(Type.Array(Type.Object({ strTime: hhmm, endTime: hhmm }), { maxItems: 3 })),
} satisfies TProperties;

export const RecallFlowSchema = Type.Object({
  recallInterval: Type.Integer({ minimum: 1, maximum: 1440, description: 'minutes' }),
  recallNum: Type.Integer({ minimum: 1, maximum: 10 }),
  recallType: Type.Integer({ minimum: 0, maximum: 1, description: '0 all numbers, 1 failed only' }),
  nodeList: opt(Type.Array(NodeSchema, { maxItems: 10 })),
});
export type RecallFlowBody = Static<typeof RecallFlowSchema>;

/** The digits rule is checked by readCallees (src/domain/callees.ts), whose message the console shows too. */
export const calleeNumber = Type.String({
  minLength: 1,
  maxLength: 40,
  description: '6-18 digits with country code, optionally with a leading +',
});
const calleeText = opt(Type.String({ maxLength: 1000, description: 'kept to its first 30 characters' }));
export const NumberInfoSchema = Type.Object({
  calleeNumber,
  text1: calleeText,
  text2: calleeText,
  text3: calleeText,
  text4: calleeText,
  text5: calleeText,
  text6: calleeText,
  text7: calleeText,
  text8: calleeText,
  text9: calleeText,
  text10: calleeText,
});

export const taskName = Type.String({ minLength: 2, maxLength: 64 });

/** `/voice/group/call/send`; also checked in the browser by the console, with the same messages. */
export const SendTaskSchema = Type.Object({
  appId: Id(),
  taskName,
  numberInfoList: opt(Type.Array(NumberInfoSchema)),
  numberList: opt(Type.Array(calleeNumber)),
  ...taskSettingProps,
  recallFlow: opt(RecallFlowSchema),
});

export const PageProps = {
  current: Type.Integer({ minimum: 1, maximum: maxId }),
  size: Type.Integer({ minimum: 1, maximum: 100 }),
} satisfies TProperties;

export function withPaging<P extends TProperties>(params: TObject<P>) {
  return Type.Object({ ...PageProps, params: opt(params) });
}

export interface Page<T> {
  total: number;
  size: number;
  current: number;
  pages: number;
  records: T[];
}

export function page<T>(records: T[], total: number, current: number, size: number): Page<T> {
  return { total, size, current, pages: Math.ceil(total / size), records };
}

export const IdList = (max: number) => Type.Array(Id(), { minItems: 1, maxItems: max });
