/** Moves recall flows along (spec §6): closes rounds whose task ended and starts rounds that are due. */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db, Queryable } from '../db/db.ts';
import { accountEnabled, accountHasSeatGroup, ownsVoiceFile } from '../db/queries/ownership.ts';
import { closeRound, dueNodeIds, endedFlowTasks, startRound } from '../db/queries/recall-rounds.ts';
import { isId, parseId } from '../domain/ids.ts';
import type { TaskSettings } from '../domain/task-settings.ts';

/** A round runs with ids stored long ago: they are checked again, against the flow's account, as it starts. */
async function cannotStart(tx: Queryable, accountId: number, settings: TaskSettings): Promise<string | null> {
  if (!(await accountEnabled(tx, accountId))) return 'account disabled';
  if (settings.source !== 3) {
    const fileId = parseId(settings.voiceFileId);
    if (fileId === undefined || !(await ownsVoiceFile(tx, { accountId, fileId, lock: true })))
      return `voice file ${settings.voiceFileId} was deleted`;
  }
  if (settings.sipGroupId !== undefined) {
    const groupId = settings.sipGroupId;
    if (!isId(groupId) || !(await accountHasSeatGroup(tx, { accountId, groupId })))
      return `seat group ${settings.sipGroupId} is not a seat group of this account`;
  }
  return null;
}

export class RecallScheduler {
  /** Completed ticks (tests wait on ticks rather than on wall time). */
  ticks = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log?: Logger,
  ) {}

  async tick(): Promise<void> {
    for (const taskId of await endedFlowTasks(this.db)) {
      const closed = await closeRound(this.db, taskId, this.clock.now());
      if (closed) {
        this.log?.info({ taskId, flowId: closed.flowId, round: closed.round }, 'round finished');
        if (closed.nextDueAt !== null)
          this.log?.info(
            {
              flowId: closed.flowId,
              round: closed.round + 1,
              dueAt: new Date(closed.nextDueAt).toISOString(),
            },
            'round due',
          );
      }
    }
    const now = this.clock.now();
    for (const nodeId of await dueNodeIds(this.db, now)) {
      const started = await startRound(this.db, nodeId, this.clock.now(), { cannotStart });
      if (!started) continue;
      const { problem, ...fields } = started;
      if (problem) this.log?.warn({ ...fields, reason: problem }, 'round could not start; flow stopped');
      else
        this.log?.info(
          fields,
          started.taskId === null ? 'round skipped: nobody left to call' : 'round started',
        );
    }
    this.ticks++;
  }
}
