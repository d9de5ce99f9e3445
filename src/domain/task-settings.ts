/**
 * The settings of a group-call task and of a recall node (spec §2, §3, §4, §5) in their stored form,
 * and the rules that span several fields. Single-field ranges are enforced by the API schemas
 * (src/api/schemas.ts); whatever is merged later (update, resend, recall nodes) is re-checked here.
 */

import { isIsoDate } from './calling-rules.ts';
import { invalid } from './errors.ts';
import { placeholdersIn } from './template.ts';

export interface VoiceContent {
  source: 1 | 2 | 3;
  voiceFileId?: string;
  uploadName?: string;
  text?: string;
  lan?: string;
  speakingRate?: number;
  ssmlGender?: 1 | 2;
  accent?: number;
}

export interface SmsSettings {
  hangUpSms: 0 | 1;
  smsAppId?: string;
  smsContent?: string;
  senderId?: string;
  feedbackPush: 0 | 1;
  feedbackValue?: string;
  successPush: 0 | 1;
  successPushTime: number;
  failedPush: 0 | 1;
  ringPush: 0 | 1;
}

export interface AgentSettings {
  toSeat: 0 | 1;
  sipGroupId?: number;
  outboundControl: 0 | 1;
  calloutRate: number;
  toSeatType?: 1 | 2;
  toSeatKey?: string;
  delayTransfer: number;
}

/** Calling rules of a task or recall node (spec §8); all optional: omitted = the seed behaviour. */
export interface RuleSettings {
  /** 'account' (default): windows, weekdays and blackout dates in the account's zone; 'callee': in the callee's. */
  windowZone?: 'account' | 'callee';
  /** ISO weekdays 1 (Monday) .. 7 (Sunday) on which calls are made. */
  weekdays?: number[];
  /** 'YYYY-MM-DD' dates on which nobody is called. */
  blackoutDates?: string[];
  /** The key that puts the callee on the account's do-not-call list. */
  optOutKey?: string;
}

/** What a recall node may set (the seed table's node fields, and the calling rules). */
export type NodeSettings = VoiceContent & SmsSettings & AgentSettings & RuleSettings;

export interface SendWindow {
  strTime: string;
  endTime: string;
}

export interface TaskSettings extends NodeSettings {
  displayNum: string;
  loopCount: number;
  maxCalls: number;
  maxRingingTime: number;
  allowSendTime: SendWindow[];
}

export const voiceFields = [
  'source',
  'voiceFileId',
  'uploadName',
  'text',
  'lan',
  'speakingRate',
  'ssmlGender',
  'accent',
] as const;
export const smsFields = [
  'hangUpSms',
  'smsAppId',
  'smsContent',
  'senderId',
  'feedbackPush',
  'feedbackValue',
  'successPush',
  'successPushTime',
  'failedPush',
  'ringPush',
] as const;
export const agentFields = [
  'toSeat',
  'sipGroupId',
  'outboundControl',
  'calloutRate',
  'toSeatType',
  'toSeatKey',
  'delayTransfer',
] as const;
export const ruleFields = ['windowZone', 'weekdays', 'blackoutDates', 'optOutKey'] as const;
export const nodeFields = [...voiceFields, ...smsFields, ...agentFields, ...ruleFields] as const;
export const taskOnlyFields = [
  'displayNum',
  'loopCount',
  'maxCalls',
  'maxRingingTime',
  'allowSendTime',
] as const;

export const settingDefaults = {
  speakingRate: 1,
  hangUpSms: 0,
  feedbackPush: 0,
  successPush: 0,
  successPushTime: 10,
  failedPush: 0,
  ringPush: 0,
  toSeat: 0,
  outboundControl: 0,
  calloutRate: 1,
  delayTransfer: 0,
  displayNum: '',
  loopCount: 1,
  maxCalls: 300,
  maxRingingTime: 60,
  allowSendTime: [] as SendWindow[],
} as const;

/** Copies the defined values of `fields` from `from` (a partial settings object). */
export function pick<T extends object>(from: Partial<T>, fields: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = (from as Record<string, unknown>)[field];
    if (value !== undefined && value !== null) out[field] = value;
  }
  return out as Partial<T>;
}

/**
 * Rules that involve several fields. `prefix` names where the settings sit in the request
 * (e.g. 'recallFlow.nodeList[1].') so the -22 reason points at the right field.
 */
export function checkNodeRules(settings: Partial<NodeSettings>, prefix = ''): void {
  const f = (name: string) => `${prefix}${name}`;
  switch (settings.source) {
    case 1:
      if (!settings.voiceFileId) throw invalid(f('voiceFileId'), 'required when source=1');
      break;
    case 2:
      if (!settings.uploadName) throw invalid(f('uploadName'), 'required when source=2');
      if (!settings.voiceFileId) throw invalid(f('baseFile'), 'required when source=2');
      break;
    case 3:
      if (!settings.text?.trim()) throw invalid(f('text'), 'required when source=3');
      if (!settings.lan) throw invalid(f('lan'), 'required when source=3');
      break;
    default:
      throw invalid(f('source'), 'must be 1 (voice file), 2 (upload) or 3 (text-to-speech)');
  }
  if (settings.hangUpSms === 1) {
    if (!settings.smsContent?.trim()) throw invalid(f('smsContent'), 'required when hangUpSms=1');
    const pushes = [settings.feedbackPush, settings.successPush, settings.failedPush, settings.ringPush];
    if (!pushes.includes(1)) {
      throw invalid(
        f('hangUpSms'),
        'when 1, at least one of feedbackPush, successPush, failedPush, ringPush must be 1',
      );
    }
    if (settings.feedbackPush === 1 && settings.feedbackValue === undefined) {
      throw invalid(f('feedbackValue'), 'required when feedbackPush=1');
    }
  }
  checkRuleSettings(settings, prefix);
  if (settings.toSeat === 1) {
    if (settings.sipGroupId === undefined) throw invalid(f('sipGroupId'), 'required when toSeat=1');
    if (settings.toSeatType === undefined) throw invalid(f('toSeatType'), 'required when toSeat=1');
    if (settings.toSeatType === 2 && !settings.toSeatKey) {
      throw invalid(f('toSeatKey'), 'required when toSeatType=2');
    }
  }
}

/** The calling-rule fields (spec §8): a bad value is -22 naming the field, never silently accepted. */
export function checkRuleSettings(settings: Partial<NodeSettings>, prefix = ''): void {
  const f = (name: string) => `${prefix}${name}`;
  if (settings.weekdays !== undefined) {
    if (settings.weekdays.length === 0) throw invalid(f('weekdays'), 'must list at least one day (1-7)');
    if (new Set(settings.weekdays).size !== settings.weekdays.length) {
      throw invalid(f('weekdays'), 'must not list a day twice');
    }
  }
  settings.blackoutDates?.forEach((date, index) => {
    if (!isIsoDate(date)) throw invalid(f(`blackoutDates[${index}]`), 'must be a date YYYY-MM-DD');
  });
  if (
    settings.optOutKey !== undefined &&
    settings.toSeat === 1 &&
    settings.toSeatType === 2 &&
    settings.optOutKey === settings.toSeatKey
  ) {
    throw invalid(f('optOutKey'), 'must differ from toSeatKey');
  }
}

export function checkWindows(windows: readonly SendWindow[]): void {
  windows.forEach((window, index) => {
    if (window.strTime === window.endTime) {
      throw invalid(`allowSendTime[${index}]`, 'strTime and endTime must differ');
    }
  });
}

/** Every callee must have each ${textN} that the SMS template uses (spec §3). */
export function checkSmsPlaceholders(
  settings: Partial<NodeSettings>,
  callees: ReadonlyArray<{ info: Record<string, string> | null }>,
  prefix = '',
): void {
  if (settings.hangUpSms !== 1 || !settings.smsContent) return;
  const needed = placeholdersIn(settings.smsContent);
  if (needed.length === 0) return;
  callees.forEach((callee, index) => {
    for (const name of needed) {
      if (!callee.info?.[name]) {
        throw invalid(
          `numberInfoList[${index}].${name}`,
          `required because ${prefix}smsContent uses \${${name}}`,
        );
      }
    }
  });
}
