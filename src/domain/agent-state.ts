/**
 * An agent's (SIP phone account's) state, stored as data and changed by one guarded transition.
 *
 *              register                 offer                 agent answers
 *   offline ─────────────► idle ─────────────────► ringing ─────────────────► busy
 *      ▲                   ▲  ▲                       │                        │ call ends
 *      │ unregister/expire │  └──── no answer ────────┘                        ▼
 *      └───── (any) ───────┘◄──────────── wrap-up over ──────────────────── wrapup
 *
 * Three edges are taken lazily, by reading stored times instead of running timers, so every process sees
 * the same thing without one of them having to be alive at the right moment:
 *  - a registration whose `expiresAt` has passed reads as offline (RFC 3261 §10.3: a binding lives
 *    only for its expiry), whatever the stored state says;
 *  - a wrap-up whose `wrapupUntil` has passed reads as idle;
 *  - a ringing or busy agent whose hold has lapsed (`holdUntil` passed: the process running that call
 *    died and stopped renewing it) reads as idle.
 */
export const AgentState = Object.freeze({
  offline: 'offline',
  idle: 'idle',
  ringing: 'ringing',
  busy: 'busy',
  wrapup: 'wrapup',
} as const);
export type AgentStateValue = (typeof AgentState)[keyof typeof AgentState];

const edges: Readonly<Record<AgentStateValue, readonly AgentStateValue[]>> = {
  offline: ['idle'],
  idle: ['ringing', 'offline'],
  ringing: ['busy', 'idle', 'offline'],
  busy: ['wrapup', 'offline'],
  wrapup: ['idle', 'offline'],
};

export class AgentStateError extends Error {
  constructor(
    readonly from: AgentStateValue,
    readonly to: AgentStateValue,
  ) {
    super(`invalid agent state transition: ${from} -> ${to}`);
    this.name = 'AgentStateError';
  }
}

export function canTransition(from: AgentStateValue, to: AgentStateValue): boolean {
  return edges[from].includes(to);
}

/** The one guarded transition: returns `to`, or throws on an edge the diagram does not have. */
export function stateTransition(from: AgentStateValue, to: AgentStateValue): AgentStateValue {
  if (!canTransition(from, to)) throw new AgentStateError(from, to);
  return to;
}

export interface AgentStateFacts {
  state: AgentStateValue;
  /** When the registration binding ends (epoch ms); null = never registered or unregistered. */
  expiresAt: number | null;
  wrapupUntil: number | null;
  /** Until when the call holding a ringing/busy agent is known alive; null/absent = no lease. */
  holdUntil?: number | null;
}

export function isRegistered(facts: Pick<AgentStateFacts, 'expiresAt'>, now: number): boolean {
  return facts.expiresAt !== null && facts.expiresAt > now;
}

/** The state as every reader must see it at `now` (the two lazy edges applied). */
export function effectiveState(facts: AgentStateFacts, now: number): AgentStateValue {
  if (!isRegistered(facts, now)) return AgentState.offline;
  if (facts.state === AgentState.wrapup && (facts.wrapupUntil === null || facts.wrapupUntil <= now)) {
    return AgentState.idle;
  }
  const held = facts.state === AgentState.ringing || facts.state === AgentState.busy;
  if (held && facts.holdUntil !== undefined && facts.holdUntil !== null && facts.holdUntil <= now) {
    return AgentState.idle;
  }
  return facts.state;
}

/** The same facts as a stored row carries them: timestamps as dates (hold_until absent where not read). */
export interface StoredAgentState {
  state: AgentStateValue;
  expires_at: Date | null;
  wrapup_until: Date | null;
  hold_until?: Date | null;
}

/** effectiveState of a stored row, for the readers that show agents (sipQuery, the progress stream). */
export function effectiveStateOfRow(row: StoredAgentState, now: number): AgentStateValue {
  return effectiveState(
    {
      state: row.state,
      expiresAt: row.expires_at?.getTime() ?? null,
      wrapupUntil: row.wrapup_until?.getTime() ?? null,
      holdUntil: row.hold_until?.getTime() ?? null,
    },
    now,
  );
}
