/**
 * Automatic redial (spec §6) as pure rules; src/engine/recall-scheduler.ts applies them to the database.
 *
 * Flow:  0 pending ──original task starts──► 1 in progress ──last round's task ends──► 2 completed
 *           │                                   │
 *           └──cancel (type 1/2)──► 3           └──a round cannot start──► 4 execution exception
 *
 * Node i (round i = 1..recallNum):
 *   0 pending ──due (recallInterval after round i-1 ended)──► 1 in progress ──its task ends──► 2
 *   0 ──no callees in round i──► 2 (and every later node, with no task)
 *   0 ──cancel type 3 (this node and later)──► 3;   0 ──cannot start──► 4
 *   0/1 ──flow cancelled──► 3
 */
import { invalid } from './errors.ts';
import { type NodeSettings, nodeFields, pick, type TaskSettings, voiceFields } from './task-settings.ts';

export const FlowStatus = Object.freeze({
  pending: 0,
  inProgress: 1,
  completed: 2,
  cancelled: 3,
  exception: 4,
} as const);
export const NodeStatus = FlowStatus;

export const RecallType = Object.freeze({ all: 0, failed: 1 } as const);

export interface RecallFlowInput {
  recallInterval: number;
  recallNum: number;
  recallType: 0 | 1;
  nodeList?: Array<Partial<NodeSettings>>;
}

export function checkRecallFlow(flow: RecallFlowInput): void {
  if (flow.nodeList && flow.nodeList.length > flow.recallNum) {
    throw invalid('recallFlow.nodeList', `must have at most recallNum (${flow.recallNum}) nodes`);
  }
}

/**
 * The node settings each round stores as "given": node i uses nodeList[i-1] if given, else the last node
 * given, else nothing (null = the original task's settings).
 */
export function givenNodeSettings(
  nodeList: ReadonlyArray<Partial<NodeSettings>> | undefined,
  recallNum: number,
): Array<Partial<NodeSettings> | null> {
  const given: Array<Partial<NodeSettings> | null> = [];
  for (let round = 1; round <= recallNum; round++) {
    const own = nodeList?.[round - 1] ?? nodeList?.[nodeList.length - 1];
    given.push(own ? (pick(own, nodeFields) as Partial<NodeSettings>) : null);
  }
  return given;
}

/**
 * The settings a round's task runs with: the original task's settings, with the node's own fields on top.
 * Voice content is taken as a whole (a node that gives `source` brings its own file or text); any other
 * field a node omits comes from the original task.
 */
export function effectiveRoundSettings(
  original: TaskSettings,
  given: Partial<NodeSettings> | null,
): TaskSettings {
  if (!given) return { ...original };
  const merged: TaskSettings = { ...original, ...given };
  if (given.source !== undefined) {
    const fields = merged as unknown as Record<string, unknown>;
    for (const field of voiceFields) {
      const value = effectiveRoundSetting(original, given, field);
      if (value === undefined) delete fields[field];
      else fields[field] = value;
    }
  }
  return merged;
}

const voiceFieldSet: ReadonlySet<string> = new Set(voiceFields);

/**
 * One field of `effectiveRoundSettings` without building the whole object (the flow detail reads two
 * dozen fields for each round on every poll).
 */
export function effectiveRoundSetting<F extends keyof TaskSettings>(
  original: TaskSettings,
  given: Partial<NodeSettings> | null,
  field: F,
): TaskSettings[F] | undefined {
  if (!given) return original[field];
  const own = (given as Partial<TaskSettings>)[field];
  if (own !== undefined) return own;
  if (given.source !== undefined && voiceFieldSet.has(field)) {
    return (field === 'speakingRate' ? 1 : undefined) as TaskSettings[F] | undefined;
  }
  return original[field];
}

/** When round `round` is due: recallInterval minutes after the previous round's task ended. */
export function roundDueAt(previousEndedAt: number, recallIntervalMinutes: number): number {
  return previousEndedAt + recallIntervalMinutes * 60_000;
}

/**
 * Whether a whole-flow cancel (recallFlow/cancel types 1 and 2) applies to a flow in `status`: pending,
 * and [ours] in progress too (its running round's task is then cancelled); an ended flow is -41.
 */
export function canCancelWholeFlow(status: number): boolean {
  return status === FlowStatus.pending || status === FlowStatus.inProgress;
}
