/**
 * Task counters without a hot row (issue 16). Every settle used to add to its task's row, so concurrent
 * settles of one task — from one process's batches or from several processes — queued on that row's
 * lock. The counters now live in `task_counts`, up to `taskCountShards` rows per task: a settle batch adds
 * its summed deltas to one shard picked at random, so two batches of the same task rarely touch the same
 * row, and a reader sums at most that many rows through its primary key — exact at every commit, with
 * nothing to fold later (a deltas log would grow and need a folder whose lag readers must add back).
 * The view `tasks_counted` shows each task with its totals, the shape `tasks` had before; `t.*` is
 * expanded when the view is created, so a later column added to `tasks` needs the view re-created.
 */
export const taskCountShards = 16;

const counters = [
  'call_num',
  'success',
  'fail',
  'rang_num',
  'toseat_num',
  'key_feedback_num',
  'call_loss_num',
  'call_duration_s',
  'dnc_suppressed_num',
] as const;
const type = (counter: string) => (counter === 'call_duration_s' ? 'bigint' : 'integer');

export const up = `
CREATE TABLE task_counts (
  task_id integer NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  shard smallint NOT NULL CHECK (shard >= 0 AND shard < ${taskCountShards}),
  ${counters.map((c) => `${c} ${type(c)} NOT NULL DEFAULT 0`).join(',\n  ')},
  PRIMARY KEY (task_id, shard)
);
INSERT INTO task_counts (task_id, shard, ${counters.join(', ')})
  SELECT id, 0, ${counters.join(', ')} FROM tasks WHERE call_num > 0;
ALTER TABLE tasks ${counters.map((c) => `DROP COLUMN ${c}`).join(', ')};
CREATE VIEW tasks_counted AS
  SELECT t.*, ${counters.map((c) => `COALESCE(n.${c}, 0)::${type(c)} AS ${c}`).join(', ')}
  FROM tasks t LEFT JOIN LATERAL (
    SELECT ${counters.map((c) => `sum(${c}) AS ${c}`).join(', ')} FROM task_counts WHERE task_id = t.id
  ) n ON true;
`;
