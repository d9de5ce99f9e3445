import type { CopyRow, Db, OpenTransaction, Queryable, QueryOptions } from '../../src/db/db.ts';

/** What node-postgres reports when the connection drops under a statement (retry.ts treats it as lost). */
export function connectionLost(): Error {
  return new Error('Connection terminated unexpectedly (injected by the test)');
}

/**
 * Where an armed fault strikes, in the first transaction (or lone statement) that runs a statement
 * matching its pattern:
 *  - `instead`: that statement fails as if the connection dropped under it; nothing of the transaction
 *    is committed.
 *  - `after-commit`: the transaction runs and commits, then the caller is told the connection dropped,
 *    as when the COMMIT's answer is lost on the way back.
 */
export type FaultPoint = 'instead' | 'after-commit';

interface Fault {
  pattern: RegExp;
  point: FaultPoint;
  fired: boolean;
}

/**
 * A real database (PGlite or PostgreSQL) behind a wrapper that can fail chosen statements the way a
 * dropped connection does, each fault once. Only the view it hands out is affected: the test keeps the
 * real Db for its checks.
 */
export class FaultyDb implements Db {
  readonly kind: Db['kind'];
  private readonly faults: Fault[] = [];

  constructor(private readonly inner: Db) {
    this.kind = inner.kind;
  }

  /** Arms a fault; `fired()` says whether it has struck yet (a test asserts it did, so it cannot pass idle). */
  failNext(pattern: RegExp, point: FaultPoint): { fired(): boolean } {
    const fault: Fault = { pattern, point, fired: false };
    this.faults.push(fault);
    return { fired: () => fault.fired };
  }

  /** The armed fault `text` triggers, now marked fired, if any. */
  private strike(text: string, point: FaultPoint): Fault | undefined {
    const fault = this.faults.find((f) => !f.fired && f.point === point && f.pattern.test(text));
    if (fault) fault.fired = true;
    return fault;
  }

  /** `target` with each statement checked against the armed faults; `ran` collects what it ran. */
  private watched(target: Queryable, ran: string[]): Queryable {
    return {
      query: <R>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
        ran.push(text);
        if (this.strike(text, 'instead')) return Promise.reject(connectionLost());
        return target.query<R>(text, params, options);
      },
      exec: (script: string) => {
        ran.push(script);
        if (this.strike(script, 'instead')) return Promise.reject(connectionLost());
        return target.exec(script);
      },
      copyRows: (table: string, columns: readonly string[], rows: Iterable<CopyRow>) =>
        target.copyRows(table, columns, rows),
    };
  }

  /** Throws, once committed, if the transaction ran a statement an `after-commit` fault waits for. */
  private afterCommit(ran: readonly string[]): void {
    if (ran.some((text) => this.strike(text, 'after-commit'))) throw connectionLost();
  }

  async query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R[]> {
    const ran: string[] = [];
    const rows = await this.watched(this.inner, ran).query<R>(text, params, options);
    this.afterCommit(ran);
    return rows;
  }

  exec(script: string): Promise<void> {
    return this.watched(this.inner, []).exec(script);
  }

  copyRows(table: string, columns: readonly string[], rows: Iterable<CopyRow>): Promise<void> {
    return this.inner.copyRows(table, columns, rows);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const ran: string[] = [];
    const result = await this.inner.transaction((tx) => work(this.watched(tx, ran)));
    this.afterCommit(ran);
    return result;
  }

  separatePool(poolSize: number): Promise<Db> {
    return this.inner.separatePool(poolSize);
  }

  openTransaction(): Promise<OpenTransaction | null> {
    return this.inner.openTransaction();
  }

  /** The real database belongs to the test, which closes it. */
  async close(): Promise<void> {}
}
