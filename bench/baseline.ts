/**
 * The yardstick the engine's figures are divided by: a bare `FOR UPDATE SKIP LOCKED` lease-then-done loop
 * (batches of 50) on a table with a primary key and a partial index of the due rows, on the same database
 * in the same run — what a job queue with nothing else to do achieves here.
 */
import type { Db } from '../src/db/db.ts';

export async function bareLeaseLoopRate(db: Db, rows: number, batch = 50): Promise<number> {
  await db.exec(`DROP TABLE IF EXISTS bench_bare;
    CREATE TABLE bench_bare (id integer PRIMARY KEY, state text NOT NULL, owner text);
    INSERT INTO bench_bare SELECT g, 'due', NULL FROM generate_series(1, ${rows}) AS g;
    CREATE INDEX ON bench_bare (id) WHERE state = 'due';
    ANALYZE bench_bare;`);
  const started = performance.now();
  let done = 0;
  for (;;) {
    const got = await db.query<{ id: number }>(
      `UPDATE bench_bare SET state = 'leased', owner = 'w' WHERE id IN (
         SELECT id FROM bench_bare WHERE state = 'due' ORDER BY id LIMIT ${batch} FOR UPDATE SKIP LOCKED) RETURNING id`,
    );
    if (got.length === 0) break;
    await db.query("UPDATE bench_bare SET state = 'done' WHERE id = ANY($1::int[])", [got.map((r) => r.id)]);
    done += got.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await db.exec('DROP TABLE bench_bare');
  return done / seconds;
}
