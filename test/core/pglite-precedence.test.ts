/**
 * PGlite runs in this thread and its statements resolve as microtasks: without care a chain of engine
 * statements keeps the event loop from reading sockets, so an API request waits for the whole chain.
 * The engine's handle gives way (src/db/db.ts, ApiPrecedence): to pending I/O, and to the API's view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/db/db.ts';

describe('PGlite: the API is not starved by a chain of engine statements', () => {
  let engineDb: Db;
  let apiDb: Db;

  beforeAll(async () => {
    engineDb = await openDb({});
    apiDb = await engineDb.separatePool(1);
  });
  afterAll(async () => engineDb?.close());

  /** A chain of statements as the engine runs them, one after the other; resolves when all are done. */
  const chain = async (statements: number) => {
    for (let i = 0; i < statements; i++)
      await engineDb.query('SELECT count(*) FROM generate_series(1, 2000)');
  };

  it('lets a timer (the event loop) run in the middle of a chain of engine statements', async () => {
    let chainDone = false;
    const running = chain(300).then(() => {
      chainDone = true;
    });
    const timerFiredMidChain = await new Promise<boolean>((resolve) =>
      setTimeout(() => resolve(!chainDone), 0),
    );
    await running;
    expect(timerFiredMidChain).toBe(true);
  });

  it("answers the API's statement before the engine's chain ends, in both transactions and statements", async () => {
    let chainDone = false;
    const running = Promise.all([chain(300), engineDb.transaction(async (tx) => tx.query('SELECT 1'))]).then(
      () => {
        chainDone = true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    const [row] = await apiDb.query<{ one: number }>('SELECT 1 AS one');
    const apiAnsweredMidChain = !chainDone;
    const viaTransaction = await apiDb.transaction((tx) => tx.query<{ two: number }>('SELECT 2 AS two'));
    await running;
    expect(row).toEqual({ one: 1 });
    expect(viaTransaction).toEqual([{ two: 2 }]);
    expect(apiAnsweredMidChain).toBe(true);
  });
});
