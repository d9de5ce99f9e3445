import { dialBudget, proportionalLimit } from '../../domain/pacing.ts';
import type { Db } from '../db.ts';
import { countIdleAgents } from './agents.ts';
import { calleeInfoSql } from './callee-info.ts';

export interface LeasedCall {
  id: number;
  task_id: number;
  seq: number;
  callee: string;
  info: Record<string, string> | null;
}

/**
 * Leases the next due calls of one account's open tasks, within its concurrency and calls-per-second
 * budget, in one transaction. The rows are committed as 'dialling' (the attempt exists) before the
 * carrier is asked, so a crash can never lead to a second call (spec §6).
 */
export async function leaseCalls(
  db: Db,
  args: {
    accountId: number;
    taskIds: number[];
    owner: string;
    now: number;
    leaseMs: number;
    max: number;
    /**
     * Proportional outbound (spec §5, outboundControl=1): the tasks' calls in flight stay within the
     * group's idle agents × calloutRate, counted under the same account lock so processes agree.
     */
    proportional?: { groupId: number; calloutRate: number };
  },
): Promise<LeasedCall[]> {
  if (args.taskIds.length === 0 || args.max <= 0) return [];
  return db.transaction(async (tx) => {
    // The account row lock serialises leasing per account across processes, so counts stay exact.
    const [account] = await tx.query<{
      max_concurrency: number;
      calls_per_second: number;
      dial_tokens: number;
      tokens_at: Date | null;
      disabled: boolean;
    }>(
      'SELECT max_concurrency, calls_per_second, dial_tokens, tokens_at, disabled FROM accounts WHERE id = $1 FOR UPDATE',
      [args.accountId],
    );
    if (!account || account.disabled) return [];
    const [{ in_flight } = { in_flight: 0 }] = await tx.query<{ in_flight: number }>(
      "SELECT count(*)::int AS in_flight FROM calls WHERE account_id = $1 AND state = 'dialling'",
      [args.accountId],
    );
    const { budget, tokens } = dialBudget({
      maxConcurrency: account.max_concurrency,
      inFlight: in_flight,
      callsPerSecond: account.calls_per_second,
      tokens: account.dial_tokens,
      tokensAt: account.tokens_at?.getTime() ?? null,
      now: args.now,
    });
    let limit = Math.min(budget, args.max);
    if (args.proportional) {
      const idle = await countIdleAgents(tx, args.proportional.groupId, args.now);
      const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM calls WHERE task_id = ANY($1::int[]) AND state = 'dialling'",
        [args.taskIds],
      );
      limit = Math.min(limit, proportionalLimit(idle, args.proportional.calloutRate) - n);
    }
    if (limit <= 0) return [];
    const leased = await tx.query<LeasedCall>(
      `UPDATE calls SET state = 'dialling', lease_owner = $2, lease_until = $3, submit_time = $4, call_time = $4
       WHERE id IN (
         SELECT id FROM calls WHERE task_id = ANY($1::int[]) AND state = 'due'
         ORDER BY task_id, seq LIMIT $5 FOR UPDATE SKIP LOCKED)
       RETURNING id, task_id, seq, callee, ${calleeInfoSql()} AS info`,
      [args.taskIds, args.owner, new Date(args.now + args.leaseMs), new Date(args.now), limit],
    );
    await tx.query('UPDATE accounts SET dial_tokens = $2, tokens_at = $3 WHERE id = $1', [
      args.accountId,
      tokens - leased.length,
      new Date(args.now),
    ]);
    return leased;
  });
}

/** Keeps this process's in-flight leases alive. */
export async function extendLeases(db: Db, owner: string, until: number): Promise<void> {
  await db.query("UPDATE calls SET lease_until = $2 WHERE state = 'dialling' AND lease_owner = $1", [
    owner,
    new Date(until),
  ]);
}
