/** What the console says about a waiting task ([ours] waitReason / nextDialAt), and which actions it offers. */
import { describe, expect, it } from 'vitest';
import { errorInWords, taskActions, waitInWords } from '../../web/src/words.ts';

describe('console words', () => {
  it('says what a waiting task waits for, and nothing when the API does not say', () => {
    const zone = 'UTC+8';
    expect(waitInWords({ status: 0, waitReason: 'window', nextDialAt: '2026-11-26 09:00:00' }, zone)).toBe(
      'allowed hours start 11-26 09:00 UTC+8',
    );
    expect(
      waitInWords({ status: 0, waitReason: 'window', nextDialAt: '2026-11-26 09:00:00' }, zone, '2026-11-26'),
    ).toBe('allowed hours start 09:00 UTC+8');
    expect(waitInWords({ status: 5, waitReason: 'paused', nextDialAt: null }, zone)).toBe('paused');
    expect(
      waitInWords(
        { status: 2, waitReason: 'round_due', nextDialAt: '2026-11-26 14:05:00', outRecallCount: 1 },
        zone,
        '2026-11-26',
      ),
    ).toBe('round 2 due 14:05');
    expect(waitInWords({ status: 1, waitReason: null }, zone)).toBeNull();
    expect(waitInWords({ status: 0 }, zone)).toBeNull();
  });

  it("offers only the state machine's actions", () => {
    expect(taskActions(1, 0)).toEqual({
      pause: true,
      resume: false,
      cancel: true,
      edit: false,
      resend: false,
    });
    expect(taskActions(5, 0)).toEqual({
      pause: false,
      resume: true,
      cancel: true,
      edit: true,
      resend: false,
    });
    expect(taskActions(5, 1)).toMatchObject({ edit: false });
    expect(taskActions(2, 0)).toEqual({
      pause: false,
      resume: false,
      cancel: false,
      edit: false,
      resend: true,
    });
  });

  it('words an API error with its code', () => {
    expect(errorInWords('-41', 'task 3 has status 2')).toBe(
      'Not possible in the current state: task 3 has status 2 (code -41)',
    );
    expect(errorInWords('-99', 'odd')).toBe('The request failed: odd (code -99)');
  });
});
