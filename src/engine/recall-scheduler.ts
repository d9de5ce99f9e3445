/** Moves recall flows along (spec §6): closes rounds whose task ended and starts rounds that are due. */
import type { Clock } from '../clock.ts';
import type { Db, Queryable } from '../db/db.ts';
import { closeRound, dueNodeIds, endedFlowTasks, startRound } from '../db/queries/recall-rounds.ts';
import type { TaskSettings } from '../domain/task-settings.ts';

async function cannotStart(tx: Queryable, accountId: number, settings: TaskSettings): Promise<string | null> {
  const [account] = await tx.query<{ disabled: boolean }>('SELECT disabled FROM accounts WHERE id = $1', [
    accountId,
  ]);
  if (!account || account.disabled) return 'account disabled';
  if (settings.source !== 3) {
    const [file] = await tx.query<{ id: number }>(
      'SELECT id FROM voice_files WHERE id = $1 AND account_id = $2 AND NOT deleted',
      [Number(settings.voiceFileId), accountId],
    );
    if (!file) return `voice file ${settings.voiceFileId} was deleted`;
  }
  return null;
}

export class RecallScheduler {
  /** Completed ticks (tests wait on ticks rather than on wall time). */
  ticks = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async tick(): Promise<void> {
    for (const taskId of await endedFlowTasks(this.db)) await closeRound(this.db, taskId, this.clock.now());
    const now = this.clock.now();
    for (const nodeId of await dueNodeIds(this.db, now)) {
      await startRound(this.db, nodeId, this.clock.now(), { cannotStart });
    }
    this.ticks++;
  }
}
