/**
 * How many calls an account may start now: bounded by its concurrency limit and by a calls-per-second
 * token bucket (burst of one second's worth). The bucket's state lives in the accounts row so every
 * dialer process shares it.
 */
export interface PacingState {
  maxConcurrency: number;
  inFlight: number;
  callsPerSecond: number;
  tokens: number;
  tokensAt: number | null;
  now: number;
}

export function refillTokens(
  state: Pick<PacingState, 'callsPerSecond' | 'tokens' | 'tokensAt' | 'now'>,
): number {
  const burst = Math.max(1, state.callsPerSecond);
  if (state.tokensAt === null) return burst;
  const elapsedSeconds = Math.max(0, state.now - state.tokensAt) / 1000;
  return Math.min(burst, state.tokens + elapsedSeconds * state.callsPerSecond);
}

/** Calls that may start now and the tokens left after starting them. */
export function dialBudget(state: PacingState): { budget: number; tokens: number } {
  const tokens = refillTokens(state);
  const budget = Math.max(0, Math.min(state.maxConcurrency - state.inFlight, Math.floor(tokens)));
  return { budget, tokens };
}

/** Proportional outbound (spec §5): concurrent calls ≈ idle agents × calloutRate. */
export function proportionalLimit(idleAgents: number, calloutRate: number): number {
  return Math.max(0, Math.floor(idleAgents * calloutRate));
}
