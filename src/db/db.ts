/**
 * One small database interface over two engines: PostgreSQL (node-postgres pool) and the embedded PGlite.
 *
 * All SQL in Ringcast is hand-written PostgreSQL (leasing with FOR UPDATE SKIP LOCKED, set-based inserts),
 * so a query builder would add little; what both engines need is the same three operations: a query,
 * a transaction and a bulk COPY. Both engines run the same migrations (src/db/migrations).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { isConnectionLost } from './retry.ts';

export interface QueryOptions {
  /**
   * PostgreSQL: keep the statement prepared under this name on each connection, so a hot read is
   * planned once per connection instead of on every call (one name, one text). PGlite ignores it.
   */
  prepareAs?: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /** Bulk load rows with COPY (CSV); values are strings or null, or a row already encoded as a CSV line. */
  copyRows(table: string, columns: readonly string[], rows: Iterable<CopyRow>): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** PostgreSQL only: the pool's connections (metrics). */
  poolStats?(): { total: number; idle: number; waiting: number };
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * The same database through a pool of its own, so one part of the process (the API) never waits for
   * connections another part (the engine's settles) holds. PGlite is one embedded connection: it answers
   * itself, and closing that view leaves the database open for its owner.
   */
  separatePool(poolSize: number): Promise<Db>;
  /**
   * PostgreSQL: a transaction on a connection that is free right now, left open for the caller to finish,
   * for work that spans more than one callback (a COPY fed while a request body streams in). Null when no
   * connection is free at once (the caller takes its buffered path instead of waiting) and on PGlite,
   * which runs in this thread, so streaming into it would gain nothing.
   */
  openTransaction(): Promise<OpenTransaction | null>;
  close(): Promise<void>;
}

/**
 * A transaction the caller ends: `commit`, or `rollback` (also after a commit that failed); both release
 * the connection.
 */
export interface OpenTransaction {
  readonly tx: Queryable;
  /** Starts a COPY (CSV) into `table`; no other statement may run on `tx` until it has ended. */
  copyIn(table: string, columns: readonly string[]): CopyIn;
  commit(): Promise<void>;
  /**
   * Rolls back and releases; never throws. `cause`, the error that ended the work, decides whether the
   * connection is worth a ROLLBACK or is discarded.
   */
  rollback(cause?: unknown): Promise<void>;
}

/** A COPY being fed: CSV lines written as they come, with back-pressure, then ended. */
export interface CopyIn {
  /** Writes text made of whole CSV lines; false when the caller should wait for `drained`. */
  write(lines: string): boolean;
  /** Resolves when the buffered text has gone out (after `write` returned false). */
  drained(): Promise<void>;
  /** Ends the COPY; resolves when the server has taken every row (its statement triggers ran). */
  end(): Promise<void>;
}

/** One row for `copyRows`: its values, or the row already encoded (`csvField`s joined by commas). */
export type CopyRow = readonly (string | null)[] | string;

/** Encodes one CSV field for COPY: NULL is an unquoted empty field, everything else is quoted. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return `"${value.replaceAll('"', '""')}"`;
}

function* csvLines(rows: Iterable<CopyRow>, batch = 2000): Generator<string> {
  let chunk: string[] = [];
  for (const row of rows) {
    chunk.push(typeof row === 'string' ? row : row.map(csvField).join(','));
    if (chunk.length >= batch) {
      yield `${chunk.join('\n')}\n`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
}

function copySql(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} WITH (FORMAT csv)`;
}

class PostgresQueryable implements Queryable {
  constructor(protected readonly client: pg.Pool | pg.PoolClient) {}

  async query<R>(text: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
    const result = options?.prepareAs
      ? await this.client.query({ name: options.prepareAs, text, values: params as unknown[] })
      : await this.client.query(text, params as unknown[]);
    return result.rows as R[];
  }

  async exec(script: string): Promise<void> {
    await this.client.query(script);
  }

  async copyRows(table: string, columns: readonly string[], rows: Iterable<CopyRow>) {
    if (!('release' in this.client)) throw new Error('copyRows needs a transaction');
    const stream = this.client.query(copyFrom(copySql(table, columns, 'STDIN')));
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    await pipeline(Readable.from(csvLines(rows)), stream);
  }
}

class PostgresDb extends PostgresQueryable implements Db {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly poolConfig: pg.PoolConfig,
  ) {
    super(pool);
  }

  separatePool(poolSize: number): Promise<Db> {
    return openPostgresPool({ ...this.poolConfig, max: poolSize });
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const open = await this.begin();
    try {
      const result = await work(open.tx);
      await open.commit();
      return result;
    } catch (error) {
      await open.rollback(error);
      throw error;
    }
  }

  /** A connection from the pool with a transaction begun on it. */
  private async begin(): Promise<PostgresOpenTransaction> {
    const open = new PostgresOpenTransaction(await this.pool.connect());
    try {
      await open.begin();
    } catch (error) {
      await open.rollback(error);
      throw error;
    }
    return open;
  }

  override async copyRows(): Promise<void> {
    throw new Error('copyRows must run inside a transaction');
  }

  async openTransaction(): Promise<OpenTransaction | null> {
    if (this.pool.idleCount === 0 && this.pool.totalCount >= (this.pool.options.max ?? 10)) return null;
    return this.begin();
  }

  /** Connections of the pool: open, idle, and requests waiting for one (metrics). */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** How long a COPY fed as a request body arrives may stay open (a client sending under ~35 KB/s fails). */
const copyInTimeoutMs = 10 * 60_000;

class PostgresOpenTransaction implements OpenTransaction {
  readonly tx: Queryable;
  private broken = false;
  private done = false;
  private readonly onError = () => {
    this.broken = true;
  };
  private copying: ReturnType<typeof copyFrom> | null = null;
  private copyError: Error | null = null;

  constructor(private readonly client: pg.PoolClient) {
    this.tx = new PostgresQueryable(client);
    client.on('error', this.onError);
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  copyIn(table: string, columns: readonly string[]): CopyIn {
    // The pool's per-statement bound (DB_QUERY_TIMEOUT_MS) would cut a COPY fed by a slow upload; this
    // one lasts as long as its body takes to arrive, within a bound of its own.
    const stream = this.client.query(
      Object.assign(copyFrom(copySql(table, columns, 'STDIN')), { query_timeout: copyInTimeoutMs }),
    );
    this.copying = stream;
    // Kept, not thrown from an event: the next write, drain or end reports it.
    stream.on('error', (error: Error) => {
      this.copyError ??= error;
    });
    const failed = () => this.copyError;
    return {
      write: (lines) => {
        if (failed()) return true;
        return stream.write(lines);
      },
      drained: () =>
        new Promise<void>((resolve, reject) => {
          if (failed()) return reject(failed());
          const settle = () => {
            stream.off('drain', settle);
            stream.off('error', settle);
            if (failed()) reject(failed());
            else resolve();
          };
          stream.on('drain', settle);
          stream.on('error', settle);
        }),
      end: () =>
        new Promise<void>((resolve, reject) => {
          if (failed()) return reject(failed());
          stream.on('error', reject);
          stream.on('finish', () => {
            this.copying = null;
            resolve();
          });
          stream.end();
        }),
    };
  }

  /** A COMMIT that fails (a deferred check, a lost connection) leaves the transaction to `rollback`. */
  async commit(): Promise<void> {
    if (this.done) throw new Error('transaction already ended');
    await this.client.query('COMMIT');
    this.finish(false);
  }

  async rollback(cause?: unknown): Promise<void> {
    if (this.done) return;
    // A COPY still open cannot be rolled back on this connection without ending it first, and a lost or
    // stuck connection would only time out again on ROLLBACK: the connection is dropped instead, and the
    // server rolls back when it closes.
    if (this.copying || this.broken || (cause !== undefined && isConnectionLost(cause))) {
      return this.finish(true);
    }
    try {
      await this.client.query('ROLLBACK');
      this.finish(false);
    } catch {
      this.finish(true);
    }
  }

  private finish(discard: boolean): void {
    this.done = true;
    this.client.off('error', this.onError);
    this.client.release(discard || this.broken);
  }
}

interface PgliteLike {
  query<R>(text: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: R[] }>;
  exec(script: string): Promise<unknown>;
}

class PgliteQueryable implements Queryable {
  constructor(protected readonly handle: PgliteLike) {}

  async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.handle.query<R>(text, params as unknown[]);
    return result.rows;
  }

  async exec(script: string): Promise<void> {
    await this.handle.exec(script);
  }

  async copyRows(table: string, columns: readonly string[], rows: Iterable<CopyRow>) {
    // PGlite reads COPY input from a virtual /dev/blob file.
    const blob = new Blob([...csvLines(rows)]);
    await this.handle.query(copySql(table, columns, "'/dev/blob'"), [], { blob });
  }
}

/**
 * PGlite runs every statement synchronously on this thread, and its promises resolve as microtasks, so a
 * chain of engine statements (lease, settle, lease…) never lets the event loop reach its I/O phase: an
 * API request waited for the whole chain (detail p50 ~36 ms, p99 ~180 ms while a campaign dialled).
 * So the owner's statements and transactions (the engine's) first give way: to pending I/O (one
 * macrotask turn, `setImmediate`), and to API statements already waiting, for at most `maxHoldMs`, so a
 * constant stream of API reads slows dialling but can never stop it. Statements inside a transaction are
 * not held (the transaction already has the database).
 */
class ApiPrecedence {
  static readonly maxHoldMs = 20;
  private waiting = 0;
  private idle: { promise: Promise<void>; resolve: () => void } | null = null;

  /** Runs one API statement or transaction, holding back the owner's next ones meanwhile. */
  async first<T>(work: () => Promise<T>): Promise<T> {
    this.waiting++;
    try {
      return await work();
    } finally {
      if (--this.waiting === 0 && this.idle) {
        this.idle.resolve();
        this.idle = null;
      }
    }
  }

  /** Resolves after one turn of the event loop, and once no API statement waits (or after `maxHoldMs`). */
  async giveWay(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.waiting === 0) return;
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.idle = { promise, resolve };
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle.promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ApiPrecedence.maxHoldMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

class PgliteDb extends PgliteQueryable implements Db {
  readonly kind = 'pglite' as const;
  readonly precedence = new ApiPrecedence();

  constructor(
    readonly lite: PGlite,
    /** Releases the data folder's lock (undefined for an in-memory database). */
    private readonly unlock?: () => void,
  ) {
    super(lite);
  }

  override async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    await this.precedence.giveWay();
    return super.query<R>(text, params);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    await this.precedence.giveWay();
    return this.transactionNow(work);
  }

  /** A transaction that does not give way (the API's own). */
  transactionNow<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.lite.transaction((tx) => work(new PgliteQueryable(tx)));
  }

  async separatePool(): Promise<Db> {
    return new SharedPgliteDb(this);
  }

  async openTransaction(): Promise<OpenTransaction | null> {
    return null;
  }

  async close(): Promise<void> {
    await this.lite.close();
    this.unlock?.();
  }
}

/**
 * The API's view of PGlite: one embedded connection for the process, so a "separate pool" is the owner
 * itself, whose statements this view's go before (ApiPrecedence); its close is a no-op.
 */
class SharedPgliteDb extends PgliteQueryable implements Db {
  readonly kind = 'pglite' as const;

  constructor(private readonly owner: PgliteDb) {
    super(owner.lite);
  }

  override query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.owner.precedence.first(() => super.query<R>(text, params));
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.owner.precedence.first(() => this.owner.transactionNow(work));
  }

  separatePool(): Promise<Db> {
    return this.owner.separatePool();
  }

  async openTransaction(): Promise<OpenTransaction | null> {
    return null;
  }

  /** The owner closes the database. */
  async close(): Promise<void> {}
}

/** The PGlite folder is held by another live process (one line for the operator). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: number,
  ) {
    super(
      `the PGlite data folder ${dataDir} (DATA_DIR) is in use by process ${holder}; stop it first, use the admin listener (ADMIN_PORT) for account commands, or use PostgreSQL (DATABASE_URL) to share a database`,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it. A pid
 * file refuses that with a clear message (a stale file from a killed process is taken over).
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = join(dataDir, 'ringcast.pid');
  try {
    const holder = Number(readFileSync(lockFile, 'utf8'));
    if (holder && holder !== process.pid && processAlive(holder)) {
      throw new DataDirInUseError(dataDir, holder);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  writeFileSync(lockFile, String(process.pid));
  const unlock = () => {
    try {
      if (Number(readFileSync(lockFile, 'utf8')) === process.pid) rmSync(lockFile);
    } catch {
      // already gone
    }
  };
  process.once('exit', unlock);
  // A database closed before the process ends gives the folder back at once (a test or CLI command
  // that opened it must not keep the service from starting).
  return () => {
    process.off('exit', unlock);
    unlock();
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pgTypes = pg.types;
// COUNT(*) and other int8 values: parse as numbers (ids and counts stay far below 2^53).
pgTypes.setTypeParser(20, (value) => Number.parseInt(value, 10));
// NUMERIC (AVG, SUM of ints): parse as numbers.
pgTypes.setTypeParser(1700, (value) => Number.parseFloat(value));

/**
 * Bounds on waiting for PostgreSQL, so a database that stops answering (a black-holed connection, a
 * failover) costs a request or an engine tick a known time instead of whatever TCP gives up after.
 */
export interface DbTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. */
  connectMs: number;
  /** One statement's round trip, measured by the client (works even when no byte comes back). */
  queryMs: number;
  /** The server ends a session that sits idle inside a transaction this long (a client that vanished). */
  idleInTransactionMs: number;
}

export const defaultDbTimeouts: DbTimeouts = {
  connectMs: 5_000,
  queryMs: 30_000,
  idleInTransactionMs: 60_000,
};

export interface OpenDbOptions {
  /** PostgreSQL connection string; when absent the embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite data folder; undefined = in memory. */
  dataDir?: string;
  poolSize?: number;
  /** PostgreSQL only (PGlite runs in this process). */
  timeouts?: Partial<DbTimeouts>;
  /** A PGlite data dump (from dumpDataDir) to start from, used by tests as a template. */
  pgliteTemplate?: Blob;
}

async function openPostgresPool(config: pg.PoolConfig): Promise<PostgresDb> {
  const pool = new pg.Pool(config);
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  return new PostgresDb(pool, config);
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  if (options.databaseUrl) {
    const timeouts = { ...defaultDbTimeouts, ...options.timeouts };
    return openPostgresPool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeouts.connectMs,
      query_timeout: timeouts.queryMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      // Notices a peer that vanished without a FIN (a cut network) on idle pooled connections.
      keepAlive: true,
    });
  }
  // PGlite creates only the last folder of the path; a fresh checkout has no ./data yet.
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
  }
  const unlock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
  const lite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {}),
  });
  return new PgliteDb(lite, unlock);
}

/** Dumps an in-memory PGlite database (tests use it as a migrated template). */
export async function dumpPglite(db: Db): Promise<Blob> {
  if (!(db instanceof PgliteDb)) throw new Error('dumpPglite needs a PGlite database');
  return db.lite.dumpDataDir('none');
}
