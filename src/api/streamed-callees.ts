/**
 * A large send's callees COPYed into PostgreSQL while the request body is still arriving (issue 16), so
 * storing them overlaps reading and checking them instead of following it: the body is read on this
 * thread while the database server takes the rows on its own core.
 *
 * The transaction is opened before the body is read, under a task id reserved up front (migration 013);
 * accepted callees go out as CSV lines as they are read, with back-pressure (the request stream pauses
 * while the COPY's buffer is full, so memory stays bounded however fast the client sends). The send
 * route then checks the rest of the body as before and finishes in that same transaction: it inserts the
 * task under the reserved id and commits, or rolls everything back. A refused body, a dropped client or
 * any error rolls back; nothing is visible to anyone before the commit.
 *
 * Only for what gains from it: PostgreSQL (PGlite runs on this thread), an authenticated request (no
 * database work for a signature not yet checked), a body large enough, and a free connection at once
 * (otherwise the buffered path, which waits for none). At most `maxStreamingSends` at a time per process,
 * so uploads can never hold the API's whole pool.
 */
import type { CopyIn, Db, OpenTransaction, Queryable } from '../db/db.ts';
import { calleeCopyColumns, calleeCsvLine, calleeCsvPrefix, reserveTaskId } from '../db/queries/tasks.ts';
import { cachedZoneLookup } from './callee-zones.ts';

const maxStreamingSends = 2;
/** CSV lines per write to the COPY stream. */
const linesPerWrite = 1_000;

let streaming = 0;

/** Streamed sends of this process since it started: opened, committed, rolled back (tests, logs). */
export const streamedSendCounts = { opened: 0, committed: 0, rolledBack: 0 };

/** Streamed sends holding a transaction right now. */
export function streamedSendsOpen(): number {
  return streaming;
}

export class StreamedCallees {
  /**
   * A bit per text given, per callee: what the SMS placeholder checks need. Nothing else of a callee is
   * kept once its row has gone out (its number neither: repeats are caught by send-body.ts's number set).
   */
  readonly textMasks: number[] = [];
  private readonly prefix: string;
  private readonly zoneOf = cachedZoneLookup();
  private lines: string[] = [];
  private ended = false;
  /** Set when the list streamed is not the one the body ends up with, or is refused. */
  private dropped = false;
  private waiting = false;

  private constructor(
    private readonly open: OpenTransaction,
    private readonly copy: CopyIn,
    readonly taskId: number,
    accountId: number,
  ) {
    this.prefix = calleeCsvPrefix(taskId, accountId);
  }

  /**
   * A streamed send for this account, or null when it would not pay (PGlite; a body declared smaller than
   * `minBytes`: a COPY of a few thousand rows costs little either way) or no connection is free now. A
   * body of unknown length (chunked) may be large, so it is streamed.
   */
  static async start(
    db: Db,
    accountId: number,
    declaredBytes: number,
    minBytes: number,
  ): Promise<StreamedCallees | null> {
    if (db.kind !== 'postgres' || declaredBytes < minBytes) return null;
    if (streaming >= maxStreamingSends) return null;
    streaming++;
    let open: OpenTransaction | null = null;
    try {
      open = await db.openTransaction();
      if (!open) {
        streaming--;
        return null;
      }
      const taskId = await reserveTaskId(open.tx);
      streamedSendCounts.opened++;
      return new StreamedCallees(open, open.copyIn('calls', calleeCopyColumns), taskId, accountId);
    } catch (error) {
      streaming--;
      await open?.rollback(error);
      throw error;
    }
  }

  /** Adds one accepted callee (deduplicated by the caller): its row sent, its text mask kept. */
  push(number: string, textsCsv: string, textMask: number): void {
    if (this.dropped) return;
    const seq = this.textMasks.length;
    this.textMasks.push(textMask);
    this.lines.push(calleeCsvLine(this.prefix, seq, number, this.zoneOf(number), textsCsv));
    if (this.lines.length >= linesPerWrite) this.flush();
  }

  /** True while the COPY's buffer is full: the reader should pause until `drained`. */
  get mustWait(): boolean {
    return this.waiting;
  }

  drained(): Promise<void> {
    return this.copy.drained().finally(() => {
      this.waiting = false;
    });
  }

  /** The list streamed is not the one kept (a later list replaced it, or it was refused). */
  drop(): void {
    this.dropped = true;
    this.lines = [];
  }

  get isDropped(): boolean {
    return this.dropped;
  }

  /** Callees sent so far. */
  get count(): number {
    return this.textMasks.length;
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    if (!this.copy.write(text)) this.waiting = true;
  }

  /**
   * Ends the COPY, runs `work` in the same transaction (after it, no other statement may have run), and
   * commits; rolls back when anything fails.
   */
  async complete<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.ended) throw new Error('streamed callees already finished');
    this.ended = true;
    try {
      this.flush();
      await this.copy.end();
      const result = await work(this.open.tx);
      await this.open.commit();
      streamedSendCounts.committed++;
      return result;
    } catch (error) {
      await this.open.rollback(error);
      streamedSendCounts.rolledBack++;
      throw error;
    } finally {
      streaming--;
    }
  }

  /** Rolls back (a refused or abandoned body); a no-op once finished. */
  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    streaming--;
    await this.open.rollback();
    streamedSendCounts.rolledBack++;
  }
}
