/**
 * Which agent of a seat group gets the next transferred call (spec §3 `callinStrategy`). Pure: the caller
 * loads the group's agents, this picks one, and the caller claims it with a guarded UPDATE. Only agents
 * that read as idle at `now` (registered, unexpired, not ringing/busy/in wrap-up) are ever offered.
 */
import { AgentState, type AgentStateFacts, effectiveState } from './agent-state.ts';

export const CallinStrategy = Object.freeze({
  longestIdle: 1,
  fewestCalls: 2,
  priority: 3,
  roundRobin: 4,
} as const);
export type CallinStrategyValue = (typeof CallinStrategy)[keyof typeof CallinStrategy];

export interface AgentCandidate extends AgentStateFacts {
  id: number;
  /** When the agent last became free: the end of its last call, else its state change. */
  idleSince: number;
  callCount: number;
  /** Higher first (strategy 3). */
  priority: number;
}

export function eligibleAgents<A extends AgentCandidate>(agents: readonly A[], now: number): A[] {
  return agents.filter((agent) => effectiveState(agent, now) === AgentState.idle);
}

/**
 * Picks an agent, or null when none is idle. Ties break on the lowest id, so the choice is deterministic.
 * `lastOfferedId` is the group's round-robin cursor: strategy 4 takes the next id after it, wrapping.
 */
export function selectAgent<A extends AgentCandidate>(
  agents: readonly A[],
  strategy: number,
  now: number,
  lastOfferedId: number | null = null,
): A | null {
  const idle = eligibleAgents(agents, now).sort((a, b) => a.id - b.id);
  if (idle.length === 0) return null;
  const best = (score: (agent: A) => number): A =>
    idle.reduce((chosen, agent) => (score(agent) < score(chosen) ? agent : chosen));
  switch (strategy) {
    case CallinStrategy.fewestCalls:
      return best((agent) => agent.callCount);
    case CallinStrategy.priority:
      return best((agent) => -agent.priority);
    case CallinStrategy.roundRobin:
      return idle.find((agent) => lastOfferedId === null || agent.id > lastOfferedId) ?? idle[0]!;
    default:
      return best((agent) => agent.idleSince);
  }
}
