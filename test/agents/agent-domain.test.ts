import { describe, expect, it } from 'vitest';
import { type AgentCandidate, CallinStrategy, selectAgent } from '../../src/domain/agent-selection.ts';
import {
  AgentState,
  AgentStateError,
  type AgentStateValue,
  canTransition,
  effectiveState,
  stateTransition,
} from '../../src/domain/agent-state.ts';

const now = 1_000_000;
const agent = (id: number, over: Partial<AgentCandidate> = {}): AgentCandidate => ({
  id,
  state: AgentState.idle,
  expiresAt: now + 60_000,
  wrapupUntil: null,
  idleSince: now - 1000,
  callCount: 0,
  priority: 0,
  ...over,
});

describe('agent state machine', () => {
  const all = Object.values(AgentState) as AgentStateValue[];
  const allowed = new Set([
    'offline>idle',
    'idle>ringing',
    'idle>offline',
    'ringing>busy',
    'ringing>idle',
    'ringing>offline',
    'busy>wrapup',
    'busy>offline',
    'wrapup>idle',
    'wrapup>offline',
  ]);

  it('allows exactly the edges of the diagram and throws on any other', () => {
    for (const from of all) {
      for (const to of all) {
        const ok = allowed.has(`${from}>${to}`);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(ok);
        if (ok) expect(stateTransition(from, to)).toBe(to);
        else expect(() => stateTransition(from, to)).toThrow(AgentStateError);
      }
    }
  });

  it('an expired or absent registration reads as offline whatever the stored state', () => {
    for (const state of all) {
      expect(effectiveState({ state, expiresAt: now - 1, wrapupUntil: null }, now)).toBe('offline');
      expect(effectiveState({ state, expiresAt: now, wrapupUntil: null }, now)).toBe('offline');
      expect(effectiveState({ state, expiresAt: null, wrapupUntil: null }, now)).toBe('offline');
    }
  });

  it('a wrap-up reads as idle once it has ended, and as wrap-up before', () => {
    const registered = now + 10_000;
    expect(effectiveState({ state: 'wrapup', expiresAt: registered, wrapupUntil: now + 1 }, now)).toBe(
      'wrapup',
    );
    expect(effectiveState({ state: 'wrapup', expiresAt: registered, wrapupUntil: now }, now)).toBe('idle');
    expect(effectiveState({ state: 'busy', expiresAt: registered, wrapupUntil: null }, now)).toBe('busy');
    // A hold that lapsed (the process running the call died) reads as idle; a live one as it is.
    for (const state of ['ringing', 'busy'] as const) {
      expect(effectiveState({ state, expiresAt: registered, wrapupUntil: null, holdUntil: now }, now)).toBe(
        'idle',
      );
      expect(
        effectiveState({ state, expiresAt: registered, wrapupUntil: null, holdUntil: now + 1 }, now),
      ).toBe(state);
    }
  });
});

describe('agent selection (callinStrategy)', () => {
  it('strategy 1 takes the agent idle the longest', () => {
    const agents = [agent(1, { idleSince: now - 10 }), agent(2, { idleSince: now - 500 }), agent(3)];
    expect(selectAgent(agents, CallinStrategy.longestIdle, now)?.id).toBe(3);
  });

  it('strategy 2 takes the agent with the fewest calls', () => {
    const agents = [agent(1, { callCount: 4 }), agent(2, { callCount: 1 }), agent(3, { callCount: 2 })];
    expect(selectAgent(agents, CallinStrategy.fewestCalls, now)?.id).toBe(2);
  });

  it('strategy 3 takes the highest priority, ties on the lowest id', () => {
    const agents = [agent(4, { priority: 1 }), agent(2, { priority: 5 }), agent(3, { priority: 5 })];
    expect(selectAgent(agents, CallinStrategy.priority, now)?.id).toBe(2);
  });

  it('strategy 4 goes round the group from the last agent offered, wrapping', () => {
    const agents = [agent(5), agent(9), agent(7)];
    const order: number[] = [];
    let last: number | null = null;
    for (let i = 0; i < 6; i++) {
      last = selectAgent(agents, CallinStrategy.roundRobin, now, last)!.id;
      order.push(last);
    }
    expect(order).toEqual([5, 7, 9, 5, 7, 9]);
  });

  it('never offers an unregistered, expired, ringing, busy or wrapping-up agent, under every strategy', () => {
    const unavailable = [
      agent(1, { expiresAt: null }),
      agent(2, { expiresAt: now - 1 }),
      agent(3, { state: 'ringing' }),
      agent(4, { state: 'busy' }),
      agent(5, { state: 'wrapup', wrapupUntil: now + 5000 }),
      agent(6, { state: 'offline' }),
    ];
    for (const strategy of [1, 2, 3, 4]) {
      expect(selectAgent(unavailable, strategy, now)).toBeNull();
      const withOne = [...unavailable, agent(7, { idleSince: now - 1, callCount: 99, priority: -1 })];
      expect(selectAgent(withOne, strategy, now)?.id).toBe(7);
    }
  });

  it('an agent whose wrap-up ended is offered again', () => {
    expect(selectAgent([agent(1, { state: 'wrapup', wrapupUntil: now - 1 })], 1, now)?.id).toBe(1);
  });
});
