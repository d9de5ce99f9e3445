/**
 * Transfer to an agent (spec §5, toSeat=1): one step of a call, kept out of call-session.ts.
 *
 * After `delayTransfer` seconds it claims an idle agent of the task's seat group (by the group's
 * callinStrategy), calls the agent, fires the agent-ringing push, and bridges callee and agent until
 * either hangs up. An agent who does not answer goes back to idle and the next one is tried. When no
 * agent has answered within `agentWaitMs` the callee hears a holding message and the call is a call
 * loss; a callee who hangs up while waiting is a call loss too.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/db.ts';
import { type AgentHold, type ClaimedAgent, claimAgent, moveAgent } from '../db/queries/agents.ts';
import { queueAgentRingingPush } from '../db/queries/outbox.ts';
import type { TaskSettings } from '../domain/task-settings.ts';
import type { CalleeInfo } from '../domain/template.ts';
import type { CallLeg, PreparedAudio, TelephonyDriver } from '../telephony/driver.ts';

export interface SeatOutcome {
  /** The agent's SIP account when one took the call. */
  seat: string | null;
  transferred: boolean;
  callLoss: boolean;
  /** From the transfer's start (after delayTransfer) to the agent's answer. */
  waitMs: number | null;
  /** Agent and callee bridged. */
  talkMs: number | null;
}

export interface TransferPlan {
  callId: number;
  callee: string;
  info: CalleeInfo;
  settings: TaskSettings;
}

/** What call-session.ts calls once the transfer is due; it always resolves, never rejects. */
export type SeatTransfer = (callee: CallLeg, plan: TransferPlan) => Promise<SeatOutcome>;

/** The agent-ringing push body (spec §3 Agents). */
export interface AgentRingingPush {
  callId: string;
  type: 1;
  taskId: number;
  called: string;
  calledInfo: string;
  seatGroupName: string;
  sipAccount: string;
  /** Epoch ms. */
  callinEventTime: number;
}

export interface SeatTransferOptions {
  /** Clock ms a callee waits for an agent to answer before the holding message. [ours] 30 s */
  agentWaitMs: number;
  /** Clock ms one agent's phone rings before the next agent is tried. [ours] 15 s */
  agentRingMs: number;
  /** Clock ms between looks for a free agent. */
  pollMs: number;
  holdingText: string;
  /** Real ms before each retry of the agent-ringing push (3 tries in all). */
  pushRetryMs: readonly number[];
}

export const defaultSeatTransferOptions: SeatTransferOptions = {
  agentWaitMs: 30_000,
  agentRingMs: 15_000,
  pollMs: 1_000,
  holdingText: 'All our agents are busy at the moment. Please call again later. Goodbye.',
  pushRetryMs: [500, 2_000],
};

export interface SeatTransferDeps {
  db: Db;
  clock: Clock;
  driver: TelephonyDriver;
  log: Logger;
  prepareAudio(settings: TaskSettings, info: CalleeInfo): Promise<PreparedAudio>;
  options?: Partial<SeatTransferOptions>;
  /**
   * The hold a claimed agent gets: the dialer's lease token and an expiry renewed with the call's lease,
   * so an agent held by a process that dies reads as idle again after one lease. Absent = no expiry.
   */
  holdFor?: (callId: number) => AgentHold;
}

const noSeat = (callLoss: boolean): SeatOutcome => ({
  seat: null,
  transferred: false,
  callLoss,
  waitMs: null,
  talkMs: null,
});

/** Resolves true when the leg answers, false when it ends first or `gone` aborts (then it is hung up). */
function answerOf(leg: CallLeg, gone: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const onAbort = () => {
      void leg.hangup();
      resolve(false);
    };
    leg.once('answered', () => {
      gone.removeEventListener('abort', onAbort);
      resolve(true);
    });
    leg.once('hangup', () => {
      gone.removeEventListener('abort', onAbort);
      resolve(false);
    });
    if (gone.aborted) onAbort();
    else gone.addEventListener('abort', onAbort, { once: true });
  });
}

function ended(leg: CallLeg): Promise<void> {
  return new Promise((resolve) => leg.once('hangup', () => resolve()));
}

export function createSeatTransfer(deps: SeatTransferDeps): SeatTransfer {
  const options = { ...defaultSeatTransferOptions, ...deps.options };
  const { clock, db, log } = deps;

  /**
   * Queued on the push outbox (taskId filled in from the call): sent by the push worker with the same
   * address checks, deadline, per-app isolation and retries as status pushes (3 tries for this kind).
   */
  async function pushAgentRinging(plan: TransferPlan, agent: ClaimedAgent, at: number): Promise<void> {
    const body: Omit<AgentRingingPush, 'taskId'> = {
      callId: String(plan.callId),
      type: 1,
      called: plan.callee,
      calledInfo: JSON.stringify(plan.info ?? {}),
      seatGroupName: agent.groupName,
      sipAccount: agent.username,
      callinEventTime: at,
    };
    await queueAgentRingingPush(db, { callId: plan.callId, payload: { ...body }, now: clock.now() });
  }

  async function holdAndLose(callee: CallLeg, plan: TransferPlan, gone: AbortSignal): Promise<SeatOutcome> {
    if (gone.aborted) return noSeat(true);
    try {
      const holding = await deps.prepareAudio(
        { ...plan.settings, source: 3, text: options.holdingText, lan: 'en' },
        null,
      );
      await callee.play(holding, 1);
    } catch (error) {
      log.error({ err: error, callId: plan.callId }, 'holding message failed');
    }
    return noSeat(true);
  }

  async function transfer(callee: CallLeg, plan: TransferPlan): Promise<SeatOutcome> {
    const groupId = plan.settings.sipGroupId;
    if (groupId === undefined) return noSeat(false);
    const gone = new AbortController();
    callee.once('hangup', () => gone.abort());
    await clock.sleep(plan.settings.delayTransfer * 1000, gone.signal);
    const started = clock.now();
    const deadline = started + options.agentWaitMs;
    while (!gone.signal.aborted && clock.now() < deadline) {
      const hold = deps.holdFor?.(plan.callId);
      const owner = hold ? { owner: hold.owner } : {};
      const agent = await claimAgent(db, groupId, clock.now(), hold);
      if (!agent) {
        await clock.sleep(Math.min(options.pollMs, deadline - clock.now()), gone.signal);
        continue;
      }
      const agentRingMs = Math.max(1, Math.min(options.agentRingMs, deadline - clock.now()));
      const agentLeg = deps.driver.originate({
        callId: `${plan.callId}-seat-${agent.id}`,
        to: agent.username,
        from: plan.callee,
        // Engine time, converted for a wall-clock driver (SIP), as for the callee's leg.
        ringTimeoutMs: deps.driver.timing === 'clock' ? agentRingMs : clock.toRealMs(agentRingMs),
        ...(agent.contact ? { uri: agent.contact } : {}),
      });
      const answered = answerOf(agentLeg, gone.signal);
      void pushAgentRinging(plan, agent, clock.now()).catch((error: unknown) =>
        log.warn({ err: error, callId: plan.callId }, 'agent-ringing push failed'),
      );
      if (!(await answered)) {
        await moveAgent(db, { id: agent.id, from: 'ringing', to: 'idle', now: clock.now(), ...owner });
        continue;
      }
      const answeredAt = clock.now();
      await moveAgent(db, { id: agent.id, from: 'ringing', to: 'busy', now: answeredAt, ...owner });
      const agentEnded = ended(agentLeg);
      if (gone.signal.aborted) {
        // The callee left as the agent answered: nothing to bridge.
        await agentLeg.hangup();
        await moveAgent(db, {
          id: agent.id,
          from: 'busy',
          to: 'wrapup',
          now: clock.now(),
          wrapupUntil: clock.now(),
          ...owner,
        });
        return noSeat(true);
      }
      callee.stopPlayback();
      await callee.bridge(agentLeg);
      const talkMs = clock.now() - answeredAt;
      await Promise.all([agentLeg.hangup(), callee.hangup()]);
      await agentEnded;
      const now = clock.now();
      await moveAgent(db, {
        id: agent.id,
        from: 'busy',
        to: 'wrapup',
        now,
        wrapupUntil: now + agent.wrapupSeconds * 1000,
        ...owner,
      });
      return {
        seat: agent.username,
        transferred: true,
        callLoss: false,
        waitMs: answeredAt - started,
        talkMs,
      };
    }
    return holdAndLose(callee, plan, gone.signal);
  }

  return async (callee, plan) => {
    try {
      return await transfer(callee, plan);
    } catch (error) {
      log.error({ err: error, callId: plan.callId }, 'transfer to an agent failed');
      return noSeat(true);
    }
  };
}
