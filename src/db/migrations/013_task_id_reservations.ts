/**
 * Callees COPYed before their task row exists (issue 16): on PostgreSQL a large send's callees are streamed
 * into `calls` while the request body is still arriving, under a task id reserved up front; the task row
 * is inserted once the whole body has been checked, in the same transaction.
 *
 * The rule "no call row without its task" (migration 012) still holds at commit:
 * - reserving an id inserts it into `task_id_reservations`; the statement check on calls lets rows of a
 *   reserved id through (the reservation row exists only inside the reserving transaction);
 * - a deferred constraint trigger on that reservation runs at COMMIT: it refuses the commit unless the
 *   task row is there by then, and deletes the reservation, so it is never committed.
 * One row and one deferred check per streamed send, nothing per callee.
 */
export const up = `
CREATE TABLE task_id_reservations (task_id integer PRIMARY KEY);

CREATE OR REPLACE FUNCTION calls_task_exists() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  wanted integer[];
  found integer;
BEGIN
  SELECT array_agg(DISTINCT task_id) INTO wanted FROM new_calls
    WHERE task_id NOT IN (SELECT task_id FROM task_id_reservations);
  SELECT count(*) INTO found FROM (SELECT 1 FROM tasks WHERE id = ANY (wanted) FOR KEY SHARE) AS locked;
  IF found < coalesce(cardinality(wanted), 0) THEN
    RAISE EXCEPTION 'insert or update on table "calls" violates foreign key constraint "calls_task_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', CONSTRAINT = 'calls_task_id_fkey',
        DETAIL = 'a call row names a task that does not exist';
  END IF;
  RETURN NULL;
END
$fn$;

CREATE FUNCTION reserved_task_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tasks WHERE id = NEW.task_id) THEN
    RAISE EXCEPTION 'insert or update on table "calls" violates foreign key constraint "calls_task_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', CONSTRAINT = 'calls_task_id_fkey',
        DETAIL = 'a task id was reserved for calls but its task was never inserted';
  END IF;
  DELETE FROM task_id_reservations WHERE task_id = NEW.task_id;
  RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER reserved_task_inserted AFTER INSERT ON task_id_reservations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION reserved_task_inserted();
`;
