import { describe, expect, it } from 'vitest';
import { classifyOutcome } from '../../src/domain/outcome.ts';
import { dialBudget, proportionalLimit, refillTokens } from '../../src/domain/pacing.ts';
import {
  effectiveRoundSetting,
  effectiveRoundSettings,
  givenNodeSettings,
  roundDueAt,
} from '../../src/domain/recall-flow.ts';
import { smsDueFor } from '../../src/domain/sms-triggers.ts';
import {
  checkNodeRules,
  type NodeSettings,
  nodeFields,
  settingDefaults,
  type TaskSettings,
} from '../../src/domain/task-settings.ts';
import { fillTemplate, placeholdersIn } from '../../src/domain/template.ts';
import { isOpenAt, nextOpening } from '../../src/domain/windows.ts';

const at = (iso: string) => Date.parse(iso);

describe('allowSendTime windows', () => {
  const windows = [{ strTime: '09:00', endTime: '12:00' }];
  it('is open inside a window in the account zone and closed outside it', () => {
    // 01:30Z is 09:30 at UTC+8.
    expect(isOpenAt(windows, 'UTC+8', at('2026-11-25T01:30:00Z'))).toBe(true);
    expect(isOpenAt(windows, 'UTC+8', at('2026-11-25T04:00:00Z'))).toBe(false);
    expect(isOpenAt(windows, 'UTC', at('2026-11-25T01:30:00Z'))).toBe(false);
  });
  it('treats the end as exclusive and a window ending before it starts as running past midnight', () => {
    expect(isOpenAt(windows, 'UTC', at('2026-11-25T12:00:00Z'))).toBe(false);
    const night = [{ strTime: '22:00', endTime: '02:00' }];
    expect(isOpenAt(night, 'UTC', at('2026-11-25T23:30:00Z'))).toBe(true);
    expect(isOpenAt(night, 'UTC', at('2026-11-26T01:59:00Z'))).toBe(true);
    expect(isOpenAt(night, 'UTC', at('2026-11-26T02:00:00Z'))).toBe(false);
  });
  it('is always open with no windows, and finds the next opening (same day or the next)', () => {
    expect(isOpenAt([], 'UTC', 0)).toBe(true);
    expect(nextOpening(windows, 'UTC', at('2026-11-25T07:00:00Z'))).toBe(at('2026-11-25T09:00:00Z'));
    expect(nextOpening(windows, 'UTC', at('2026-11-25T13:00:00Z'))).toBe(at('2026-11-26T09:00:00Z'));
    expect(nextOpening(windows, 'UTC', at('2026-11-25T10:00:00Z'))).toBe(at('2026-11-25T10:00:00Z'));
  });
});

describe('callStatus of an attempt', () => {
  it('maps carrier outcomes to the spec codes', () => {
    expect(
      classifyOutcome({ rang: true, answered: true, cause: { sipCode: 200, reason: 'normal' } }),
    ).toMatchObject({
      callStatus: 50,
      terminationCode: 200,
    });
    expect(
      classifyOutcome({ rang: true, answered: false, cause: { sipCode: 486, reason: 'busy' } }).callStatus,
    ).toBe(10);
    expect(
      classifyOutcome({ rang: true, answered: false, cause: { sipCode: 487, reason: 'no-answer' } })
        .callStatus,
    ).toBe(20);
    expect(
      classifyOutcome({ rang: false, answered: false, cause: { sipCode: 503, reason: 'unavailable' } })
        .callStatus,
    ).toBe(30);
    expect(
      classifyOutcome({ rang: true, answered: false, cause: { sipCode: 200, reason: 'voicemail' } })
        .callStatus,
    ).toBe(40);
    expect(
      classifyOutcome({ rang: true, answered: false, cause: { sipCode: 500, reason: 'failed' } }).callStatus,
    ).toBe(60);
  });

  it('[ours] says who ended the call: the driver when it knows, else the code (487 ours, busy/decline the callee, the rest the carrier)', () => {
    const by = (cause: { sipCode: number; reason: string; by?: 'callee' | 'system' | 'carrier' }) =>
      classifyOutcome({ rang: true, answered: cause.sipCode === 200, cause }).hangupBy;
    expect(by({ sipCode: 200, reason: 'normal', by: 'carrier' })).toBe('carrier');
    expect(by({ sipCode: 200, reason: 'normal', by: 'system' })).toBe('system');
    expect(by({ sipCode: 487, reason: 'no-answer' })).toBe('system');
    expect(by({ sipCode: 486, reason: 'busy' })).toBe('callee');
    expect(by({ sipCode: 603, reason: 'rejected' })).toBe('callee');
    expect(by({ sipCode: 503, reason: 'unavailable' })).toBe('carrier');
    expect(by({ sipCode: 408, reason: 'unavailable' })).toBe('carrier');
  });

  it('[ours] a Special Information Tone is callStatus 30 with its class as the reason, answered or not', () => {
    expect(
      classifyOutcome({ rang: true, answered: false, cause: { sipCode: 404, reason: 'sit-vacant' } }),
    ).toEqual({ callStatus: 30, terminationCode: 404, terminationReason: 'sit-vacant', hangupBy: 'carrier' });
    expect(
      classifyOutcome({ rang: true, answered: true, cause: { sipCode: 503, reason: 'sit-no-circuit' } })
        .callStatus,
    ).toBe(30);
  });
});

describe('pacing', () => {
  it('limits starts by free concurrency and by a one-second token bucket', () => {
    const base = { maxConcurrency: 10, inFlight: 0, callsPerSecond: 5, tokens: 0, tokensAt: 0, now: 0 };
    expect(dialBudget({ ...base, tokensAt: null }).budget).toBe(5);
    expect(dialBudget({ ...base, now: 400 }).budget).toBe(2);
    expect(dialBudget({ ...base, now: 10_000 }).budget).toBe(5);
    expect(dialBudget({ ...base, inFlight: 9, now: 10_000 }).budget).toBe(1);
    expect(dialBudget({ ...base, inFlight: 12, now: 10_000 }).budget).toBe(0);
    expect(refillTokens({ callsPerSecond: 0.5, tokens: 0, tokensAt: 0, now: 1000 })).toBe(0.5);
  });
  it('computes proportional outbound as idle agents × calloutRate', () => {
    expect(proportionalLimit(3, 2)).toBe(6);
    expect(proportionalLimit(0, 100)).toBe(0);
  });
});

describe('recall nodes', () => {
  const original = {
    ...settingDefaults,
    allowSendTime: [],
    source: 3,
    text: 'original',
    lan: 'en',
    accent: 44,
    senderId: 'ORIG',
  } as TaskSettings;
  it('gives round i nodeList[i-1], else the last node given, else nothing', () => {
    const given = givenNodeSettings([{ text: 'a' }, { text: 'b' }], 4);
    expect(given.map((g) => g?.text)).toEqual(['a', 'b', 'b', 'b']);
    expect(givenNodeSettings(undefined, 2)).toEqual([null, null]);
  });
  it("takes a node's voice content as a whole and every other omitted field from the original", () => {
    const merged = effectiveRoundSettings(original, { source: 1, voiceFileId: '7', hangUpSms: 0 });
    expect(merged).toMatchObject({ source: 1, voiceFileId: '7', senderId: 'ORIG', speakingRate: 1 });
    expect(merged.text).toBeUndefined();
    expect(merged.accent).toBeUndefined();
    expect(effectiveRoundSettings(original, { senderId: 'NODE' })).toMatchObject({
      text: 'original',
      senderId: 'NODE',
    });
  });
  it('reads one field as the whole merge gives it, for every node field and shape of node', () => {
    const nodes: Array<Partial<NodeSettings> | null> = [
      null,
      {},
      { senderId: 'NODE' },
      { source: 1, voiceFileId: '7', hangUpSms: 0 },
      { source: 3, text: 'node', lan: 'en', speakingRate: 1.5 },
    ];
    for (const given of nodes) {
      const merged = effectiveRoundSettings(original, given);
      for (const field of nodeFields) {
        expect(effectiveRoundSetting(original, given, field), `${JSON.stringify(given)} ${field}`).toEqual(
          merged[field],
        );
      }
    }
  });
  it('is due recallInterval minutes after the previous round ended', () => {
    expect(roundDueAt(1_000, 30)).toBe(1_000 + 30 * 60_000);
  });
});

describe('hang-up SMS triggers', () => {
  const settings = {
    hangUpSms: 1 as const,
    smsContent: 'x',
    feedbackPush: 1 as const,
    feedbackValue: '1',
    successPush: 1 as const,
    successPushTime: 10,
    failedPush: 1 as const,
    ringPush: 1 as const,
  };
  it('fires feedback, success (successPushTime after the answer) and ring for an answered call with the key', () => {
    const due = smsDueFor(settings, {
      callStatus: 50,
      rang: true,
      answerTime: 1000,
      hangupTime: 5000,
      keys: ['1'],
    });
    expect(due).toEqual([
      { trigger: 'feedback', sendAt: 5000 },
      { trigger: 'success', sendAt: 11_000 },
      { trigger: 'ring', sendAt: 5000 },
    ]);
  });
  it('fires failed (and ring if it rang) for every callStatus but 50, and nothing when hangUpSms is 0', () => {
    expect(
      smsDueFor(settings, { callStatus: 10, rang: true, answerTime: null, hangupTime: 1, keys: [] }),
    ).toEqual([
      { trigger: 'failed', sendAt: 1 },
      { trigger: 'ring', sendAt: 1 },
    ]);
    expect(
      smsDueFor(
        { ...settings, hangUpSms: 0 },
        { callStatus: 10, rang: true, answerTime: null, hangupTime: 1, keys: [] },
      ),
    ).toEqual([]);
  });
});

describe('templates and cross-field rules', () => {
  it('fills ${text1}..${text10} per callee and lists the placeholders used', () => {
    expect(fillTemplate('Hi ${text1}, ${text10}!', { text1: 'Ann', text10: 'bye' })).toBe('Hi Ann, bye!');
    expect(fillTemplate('Hi ${text2}', null)).toBe('Hi ');
    expect(placeholdersIn('${text1} ${text10} ${text1} ${text11}')).toEqual(['text1', 'text10']);
  });
  it('names the field and the rule when settings contradict each other', () => {
    expect(() => checkNodeRules({ source: 3, lan: 'en' })).toThrow('text: required when source=3');
    expect(() =>
      checkNodeRules({ source: 3, text: 'x', lan: 'en', toSeat: 1 }, 'recallFlow.nodeList[0].'),
    ).toThrow('recallFlow.nodeList[0].sipGroupId: required when toSeat=1');
  });
});
