/**
 * `GET /voice/group/call/detail/{id}` in one statement: the task with its counters, why it waits (the
 * same facts as wait-facts.ts), and its seat group's name and online seats. One round trip keeps the
 * answer fast while a campaign keeps the database busy.
 */
import type { Queryable } from '../db.ts';
import type { TaskRow } from './tasks.ts';
import { taskRowColumns } from './tasks.ts';
import {
  type AccountPace,
  accountPaceOf,
  paceCte,
  type TaskWaitFacts,
  taskWaitFactsOf,
  type WaitFactsColumns,
  waitFactsJoins,
  waitFactsSelect,
} from './wait-facts.ts';

export interface TaskDetailFacts {
  task: TaskRow;
  account: AccountPace;
  wait: TaskWaitFacts;
  /** The seat group of a task that transfers to agents (null when none is set or it is gone). */
  seatGroup: { name: string; onlineSeats: number } | null;
}

export async function taskDetailFacts(
  db: Queryable,
  args: { accountId: number; taskId: number; now: number },
): Promise<TaskDetailFacts | undefined> {
  const [row] = await db.query<
    TaskRow & WaitFactsColumns & { seat_group_name: string | null; seat_group_online: number | null }
  >(
    `WITH ${paceCte}
     SELECT ${taskRowColumns('t')}, ${waitFactsSelect}, sg.group_name AS seat_group_name,
       sg.online_seat AS seat_group_online
     FROM pace p
     JOIN tasks_counted t ON t.account_id = p.id AND t.id = $2
     ${waitFactsJoins}
     LEFT JOIN LATERAL (
       SELECT g.group_name,
         (SELECT count(*)::int FROM sip_accounts s WHERE s.group_id = g.id AND s.expires_at > $3) AS online_seat
       FROM seat_groups g WHERE g.account_id = p.id AND g.id = (t.settings->>'sipGroupId')::bigint) sg ON true`,
    [args.accountId, args.taskId, new Date(args.now)],
    { prepareAs: 'task_detail' },
  );
  if (!row) return undefined;
  const { seat_group_name, seat_group_online, ...task } = row;
  return {
    task,
    account: accountPaceOf(row),
    wait: taskWaitFactsOf(row),
    seatGroup:
      seat_group_name === null ? null : { name: seat_group_name, onlineSeats: seat_group_online ?? 0 },
  };
}
