/**
 * One attempt from dial to hang-up: ring, answer, play the message `loopCount` times, listen for keys,
 * end at the message's end or at `maxCalls` seconds after the answer. It only talks to a CallLeg and
 * returns what happened; the dialer records it.
 */
import type { Clock } from '../clock.ts';
import type { AttemptResult } from '../db/queries/settle-call.ts';
import { classifyOutcome } from '../domain/outcome.ts';
import type { TaskSettings } from '../domain/task-settings.ts';
import type { CalleeInfo } from '../domain/template.ts';
import type { HangupCause, PreparedAudio, TelephonyDriver } from '../telephony/driver.ts';
import type { SeatOutcome, SeatTransfer } from './seat-transfer.ts';

export interface CallPlan {
  callId: number;
  callee: string;
  info: CalleeInfo;
  round: number;
  settings: TaskSettings;
}

export interface CallSessionDeps {
  clock: Clock;
  driver: TelephonyDriver;
  /** `callId` names whose call it is: a stored voice file plays only to calls of its own account. */
  prepareAudio(settings: TaskSettings, info: CalleeInfo, owner: { callId: number }): Promise<PreparedAudio>;
  onError(error: unknown, callId: number): void;
  /**
   * optOutKey (spec §8): puts the callee of `callId` on the account's do-not-call list. The attempt is
   * recorded only after it has finished, so the list holds the number before the call's record exists.
   */
  optOut?(callId: number): Promise<void>;
  /** Transfer to an agent (toSeat=1); without it toSeat is ignored. See seat-transfer.ts. */
  transfer?: SeatTransfer;
}

export function runCall(deps: CallSessionDeps, plan: CallPlan): Promise<AttemptResult> {
  const { clock, driver } = deps;
  const { settings } = plan;
  const ringTimeoutMs = settings.maxRingingTime * 1000;
  const leg = driver.originate({
    callId: String(plan.callId),
    to: plan.callee,
    from: settings.displayNum,
    // A wall-clock driver (SIP) must cancel after the same span of engine time, even on a sped-up clock.
    ringTimeoutMs: driver.timing === 'clock' ? ringTimeoutMs : clock.toRealMs(ringTimeoutMs),
    round: plan.round,
  });
  let ringingTime: number | null = null;
  let answerTime: number | null = null;
  const keys: string[] = [];
  const stop = new AbortController();
  // toSeat=1: after the message (toSeatType 1) or on toSeatKey (toSeatType 2) the call goes to an agent.
  const transferTo = settings.toSeat === 1 ? deps.transfer : undefined;
  let transferring: Promise<SeatOutcome> | null = null;
  let optingOut: Promise<void> | null = null;
  let ended = false;
  const startTransfer = () => {
    if (!transferTo || transferring || ended) return;
    leg.stopPlayback();
    transferring = transferTo(leg, plan)
      .catch((error: unknown): SeatOutcome => {
        // A failing transfer must still end the call and let the attempt be recorded (as a call loss).
        deps.onError(error, plan.callId);
        return { seat: null, transferred: false, callLoss: true, waitMs: null, talkMs: null };
      })
      .then((outcome) => {
        void leg.hangup();
        return outcome;
      });
  };

  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (cause: HangupCause) => {
      if (settled) return;
      settled = true;
      ended = true;
      stop.abort();
      const outcome = classifyOutcome({ rang: ringingTime !== null, answered: answerTime !== null, cause });
      const hangupTime = clock.now();
      const result = (seat: SeatOutcome | null): AttemptResult => ({
        ...outcome,
        ringingTime,
        answerTime,
        hangupTime,
        keys,
        seat: seat?.seat ?? null,
        transferred: seat?.transferred ?? false,
        callLoss: seat?.callLoss ?? false,
        ...(seat ? { seatWaitMs: seat.waitMs, seatTalkMs: seat.talkMs } : {}),
      });
      // A transfer in progress ends with the callee's leg; its outcome completes the record. An opt-out
      // in progress is written first.
      const optedOut = optingOut ?? Promise.resolve();
      if (transferring) {
        const seat = transferring;
        void optedOut.then(() => seat).then((outcome) => resolve(result(outcome)));
      } else void optedOut.then(() => resolve(result(null)));
    };
    leg.on('hangup', finish);
    leg.on('ringing', () => {
      ringingTime ??= clock.now();
    });
    leg.on('dtmf', (digit) => {
      keys.push(digit);
      if (settings.optOutKey !== undefined && digit === settings.optOutKey && deps.optOut && !optingOut) {
        // At once, while the call goes on: the number is on the list before the call ends.
        optingOut = deps.optOut(plan.callId).catch((error: unknown) => deps.onError(error, plan.callId));
      }
      if (settings.toSeatType === 2 && digit === settings.toSeatKey) startTransfer();
    });
    leg.on('answered', () => {
      answerTime = clock.now();
      // maxCalls bounds the call from the answer, whatever else is going on.
      void clock.sleep(settings.maxCalls * 1000, stop.signal).then(() => {
        if (!stop.signal.aborted) void leg.hangup();
      });
      void deps
        .prepareAudio(settings, plan.info, { callId: plan.callId })
        .then((audio) => (transferring ? false : leg.play(audio, settings.loopCount)))
        .then((completed) => {
          // A transfer (toSeatKey pressed) owns the call from here on.
          if (!completed || transferring) return;
          if (transferTo && settings.toSeatType === 1) startTransfer();
          else void leg.hangup();
        })
        .catch((error: unknown) => {
          deps.onError(error, plan.callId);
          void leg.hangup();
        });
    });
    // Watchdog: a driver that never reports the end must not hold the attempt forever.
    // At least 10 s of wall-clock time, so a sped-up clock and a busy event loop cannot trip it.
    const limitMs = Math.max(ringTimeoutMs + settings.maxCalls * 1000 + 30_000, clock.speed * 10_000);
    void clock.sleep(limitMs, stop.signal).then(() => {
      if (stop.signal.aborted) return;
      void leg.hangup();
      finish({ sipCode: 408, reason: 'timeout', by: 'system' });
    });
  });
}
