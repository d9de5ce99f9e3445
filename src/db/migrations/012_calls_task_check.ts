/**
 * Ingest without the per-row foreign-key trigger on `calls.task_id` (issue 16). A task's callees are
 * COPYed in the transaction that inserted the task, and the FK's per-row RI trigger cost ~0.35 s of the
 * 0.88 s of a 100,000-row COPY. The rule "no call row without its task" is kept by statement-level
 * triggers instead:
 *
 * - after each INSERT/COPY into calls, one set-based check over the statement's transition table: the
 *   distinct task ids, their task rows locked FOR KEY SHARE (the lock the RI check takes, so a concurrent
 *   delete of the task waits for this transaction), and refused (23503) unless every one is found;
 * - a task that still has calls cannot be deleted (one indexed look-up per DELETE statement, through
 *   UNIQUE (task_id, callee)), and neither `calls.task_id` nor `tasks.id` may change (row triggers with a
 *   column list: they fire only when the column is a SET target, so settles pay nothing).
 *
 * Not chosen: a DEFERRABLE FK still queues one RI event per row; DISABLE TRIGGER needs an ACCESS EXCLUSIVE
 * lock on calls (it would stop dialling for the whole COPY); session_replication_role needs a superuser
 * and switches off every trigger. TRUNCATE tasks without calls is not guarded (nothing truncates tables).
 */
export const up = `
ALTER TABLE calls DROP CONSTRAINT calls_task_id_fkey;

CREATE FUNCTION calls_task_exists() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  wanted integer[];
  found integer;
BEGIN
  SELECT array_agg(DISTINCT task_id) INTO wanted FROM new_calls;
  SELECT count(*) INTO found FROM (SELECT 1 FROM tasks WHERE id = ANY (wanted) FOR KEY SHARE) AS locked;
  IF found < coalesce(cardinality(wanted), 0) THEN
    RAISE EXCEPTION 'insert or update on table "calls" violates foreign key constraint "calls_task_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', CONSTRAINT = 'calls_task_id_fkey',
        DETAIL = 'a call row names a task that does not exist';
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER calls_task_exists AFTER INSERT ON calls REFERENCING NEW TABLE AS new_calls
  FOR EACH STATEMENT EXECUTE FUNCTION calls_task_exists();

CREATE FUNCTION tasks_keep_calls() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM gone_tasks g WHERE EXISTS (SELECT 1 FROM calls c WHERE c.task_id = g.id)) THEN
    RAISE EXCEPTION 'update or delete on table "tasks" violates foreign key constraint "calls_task_id_fkey" on table "calls"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', CONSTRAINT = 'calls_task_id_fkey',
        DETAIL = 'the task still has call rows';
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER tasks_keep_calls AFTER DELETE ON tasks REFERENCING OLD TABLE AS gone_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION tasks_keep_calls();

CREATE FUNCTION task_key_fixed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '%.% cannot change (calls refer to tasks by it)', TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END
$fn$;
CREATE TRIGGER calls_task_id_fixed BEFORE UPDATE OF task_id ON calls
  FOR EACH ROW WHEN (OLD.task_id IS DISTINCT FROM NEW.task_id) EXECUTE FUNCTION task_key_fixed('task_id');
CREATE TRIGGER tasks_id_fixed BEFORE UPDATE OF id ON tasks
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION task_key_fixed('id');
`;
