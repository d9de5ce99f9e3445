import type { Queryable } from '../db.ts';

/** One round trip to the database (readiness). */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
