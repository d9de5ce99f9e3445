/** What src/domain/wait-reason.ts needs to say why tasks wait: one statement per page of tasks. */

import { FlowStatus } from '../../domain/recall-flow.ts';
import { CallState } from '../../domain/stored-states.ts';
import type { Queryable } from '../db.ts';

export interface AccountPace {
  inFlight: number;
  maxConcurrency: number;
  callsPerSecond: number;
  tokens: number;
  tokensAt: number | null;
}

export interface TaskWaitFacts {
  /** Callees callable now (due and not deferred). */
  hasDue: boolean;
  /** Callees deferred by the calling rules (spec §8 deferredNum). */
  deferredNum: number;
  /** The callee deferred the least: until when and why. */
  firstDeferred: { until: number; reason: string } | null;
  /** The task ended and its flow's next round is pending: when it is due (null = being scheduled). */
  nextRound: { dueAt: number | null } | null;
}

/** Columns of a wait-facts row: the task's (null when no task matched) and the account's pace. */
export interface WaitFactsColumns {
  id: number | null;
  has_due: boolean | null;
  deferred_num: number | null;
  first_until: Date | null;
  first_reason: string | null;
  next_round: boolean | null;
  next_round_due_at: Date | null;
  in_flight: number;
  max_concurrency: number;
  calls_per_second: number;
  dial_tokens: number;
  tokens_at: Date | null;
}

/** CTE `pace`: account $1's pacing state and calls in flight. */
export const paceCte = `pace AS MATERIALIZED (
       SELECT a.id, a.max_concurrency, a.calls_per_second, a.dial_tokens, a.tokens_at,
         (SELECT count(*)::int FROM calls c WHERE c.account_id = a.id AND c.state = '${CallState.dialling}') AS in_flight
       FROM accounts a WHERE a.id = $1)`;

/** The wait facts of task `t` (callable now, deferred, next round) at instant $3, and the pace `p`. */
export const waitFactsSelect = `EXISTS (SELECT 1 FROM calls c WHERE c.task_id = t.id AND c.state = '${CallState.due}' AND c.not_before <= $3) AS has_due,
       (SELECT count(*)::int FROM calls c WHERE c.task_id = t.id AND c.state = '${CallState.due}' AND c.not_before > $3)
         AS deferred_num,
       d.not_before AS first_until, d.defer_reason AS first_reason,
       n.id IS NOT NULL AS next_round, n.due_at AS next_round_due_at,
       p.in_flight, p.max_concurrency, p.calls_per_second, p.dial_tokens, p.tokens_at`;

/** Joins `waitFactsSelect` reads from, after `FROM pace p LEFT JOIN tasks t …`. */
export const waitFactsJoins = `LEFT JOIN recall_flows f ON f.id = t.flow_id AND f.status = ${FlowStatus.inProgress}
     LEFT JOIN recall_nodes n ON n.flow_id = f.id AND n.round = t.round + 1 AND n.status = ${FlowStatus.pending}
     LEFT JOIN LATERAL (SELECT c.not_before, c.defer_reason FROM calls c
                        WHERE c.task_id = t.id AND c.state = '${CallState.due}' AND c.not_before > $3
                        ORDER BY c.not_before LIMIT 1) d ON true`;

export function accountPaceOf(row: WaitFactsColumns | undefined): AccountPace {
  return {
    inFlight: row?.in_flight ?? 0,
    maxConcurrency: row?.max_concurrency ?? 0,
    callsPerSecond: row?.calls_per_second ?? 0,
    tokens: row?.dial_tokens ?? 0,
    tokensAt: row?.tokens_at?.getTime() ?? null,
  };
}

export function taskWaitFactsOf(row: WaitFactsColumns): TaskWaitFacts {
  return {
    hasDue: row.has_due === true,
    deferredNum: row.deferred_num ?? 0,
    firstDeferred:
      row.first_until && row.first_reason
        ? { until: row.first_until.getTime(), reason: row.first_reason }
        : null,
    nextRound: row.next_round ? { dueAt: row.next_round_due_at?.getTime() ?? null } : null,
  };
}

export async function waitFacts(
  db: Queryable,
  accountId: number,
  taskIds: readonly number[],
  now: number,
): Promise<{ account: AccountPace; tasks: Map<number, TaskWaitFacts> }> {
  const rows = await db.query<WaitFactsColumns>(
    `WITH ${paceCte}
     SELECT t.id, ${waitFactsSelect}
     FROM pace p
     LEFT JOIN tasks t ON t.account_id = p.id AND t.id = ANY($2::int[])
     ${waitFactsJoins}`,
    [accountId, taskIds, new Date(now)],
  );
  const tasks = new Map<number, TaskWaitFacts>();
  for (const row of rows) {
    if (row.id !== null) tasks.set(row.id, taskWaitFactsOf(row));
  }
  return { account: accountPaceOf(rows[0]), tasks };
}
