/**
 * "No call row without its task" (migration 012): kept by statement-level triggers instead of the per-row
 * foreign key, on every way a call row can appear or its task disappear.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.ts';
import { insertCallees, insertTask, reserveTaskId } from '../../src/db/queries/tasks.ts';
import { settingDefaults, type TaskSettings } from '../../src/domain/task-settings.ts';
import { newAccount, type TestAccount, testDb } from '../helpers/harness.ts';

describe('calls.task_id without a per-row foreign key', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let account: TestAccount;
  let taskId: number;

  /** A round-0 task of the test account, as insertTask takes it. */
  const task = (name: string) => ({
    accountId: account.accountId,
    appId: account.appId,
    name,
    settings: { ...settingDefaults, source: 3, text: 'hi', lan: 'en' } as unknown as TaskSettings,
    sendTime: null,
    flowId: null,
    round: 0,
    sourceTaskId: null,
    now: Date.now(),
  });
  const newTask = (name: string) => db.transaction((tx) => insertTask(tx, task(name)));
  const code = async (work: Promise<unknown>) => {
    try {
      await work;
      return 'ok';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  };

  beforeAll(async () => {
    ({ db, drop } = await testDb());
    account = await newAccount(db);
    taskId = await newTask('has calls');
    await db.transaction((tx) =>
      insertCallees(tx, taskId, account.accountId, [{ callee: '8613800000001', info: null }]),
    );
  });
  afterAll(async () => drop?.());

  it('refuses an orphan call row from COPY (23503), and the task inserted in the same transaction is accepted', async () => {
    expect(
      await code(
        db.transaction((tx) =>
          insertCallees(tx, taskId + 1000, account.accountId, [{ callee: '8613800000002', info: null }]),
        ),
      ),
    ).toBe('23503');
    const fresh = await newTask('fresh');
    expect(
      await code(
        db.transaction((tx) =>
          insertCallees(tx, fresh, account.accountId, [{ callee: '8613800000003', info: null }]),
        ),
      ),
    ).toBe('ok');
  });

  it('lets calls under a reserved task id in before their task (migration 013), but commits only once the task row is there', async () => {
    const callee = [{ callee: '8613800000009', info: null }];
    // The task never inserted: the commit is refused, nothing stays.
    let reserved = 0;
    expect(
      await code(
        db.transaction(async (tx) => {
          reserved = await reserveTaskId(tx);
          await insertCallees(tx, reserved, account.accountId, callee);
        }),
      ),
    ).toBe('23503');
    const left = await db.query('SELECT 1 FROM calls WHERE task_id = $1', [reserved]);
    expect(left).toHaveLength(0);
    // A reservation does not let another task's missing id through.
    expect(
      await code(
        db.transaction(async (tx) => {
          const id = await reserveTaskId(tx);
          await insertCallees(tx, id + 1000, account.accountId, callee);
          await insertTask(tx, task('reserved other'), id);
        }),
      ),
    ).toBe('23503');
    // The task inserted under its reserved id after its calls: committed, and the reservation is gone.
    const id = await db.transaction(async (tx) => {
      const id = await reserveTaskId(tx);
      await insertCallees(tx, id, account.accountId, callee);
      return insertTask(tx, task('reserved first'), id);
    });
    const rows = await db.query<{ name: string }>(
      'SELECT t.name FROM calls c JOIN tasks t ON t.id = c.task_id WHERE c.task_id = $1',
      [id],
    );
    expect(rows).toEqual([{ name: 'reserved first' }]);
    expect(await db.query('SELECT * FROM task_id_reservations')).toEqual([]);
  });

  it('refuses an orphan call row from INSERT, also mixed among rows whose task exists', async () => {
    const insert = (ids: number[]) =>
      db.query(
        `INSERT INTO calls (task_id, account_id, seq, callee)
         SELECT id, $2, 100 + n, '86139' || lpad(n::text, 8, '0') FROM unnest($1::int[]) WITH ORDINALITY AS u(id, n)`,
        [ids, account.accountId],
      );
    expect(await code(insert([taskId + 1000]))).toBe('23503');
    expect(await code(insert([taskId, taskId + 1000]))).toBe('23503');
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM calls WHERE task_id = $1', [
      taskId,
    ]);
    expect(row!.n).toBe(1);
  });

  it('refuses deleting a task that has calls, and moving a call to another task', async () => {
    expect(await code(db.query('DELETE FROM tasks WHERE id = $1', [taskId]))).toBe('23503');
    expect(
      await code(db.query('UPDATE calls SET task_id = task_id + 1000 WHERE task_id = $1', [taskId])),
    ).toBe('23503');
    // tasks.id is an identity column: only SET id = DEFAULT could change it, and that is refused too.
    expect(await code(db.query('UPDATE tasks SET id = DEFAULT WHERE id = $1', [taskId]))).toBe('23503');
    // Updates that leave the key alone (every settle) are not affected.
    expect(await code(db.query("UPDATE calls SET text1 = 'x' WHERE task_id = $1", [taskId]))).toBe('ok');
    const empty = await newTask('no calls');
    expect(await code(db.query('DELETE FROM tasks WHERE id = $1', [empty]))).toBe('ok');
  });
});
