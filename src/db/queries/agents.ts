/**
 * Seat groups and SIP phone accounts (agents): provisioning, registration bindings and the guarded state
 * changes of src/domain/agent-state.ts. Every state change is `UPDATE … WHERE state = ANY(expected)`,
 * so two processes can never both move the same agent.
 */
import { randomBytes } from 'node:crypto';
import { type AgentCandidate, selectAgent } from '../../domain/agent-selection.ts';
import { AgentState, type AgentStateValue, stateTransition } from '../../domain/agent-state.ts';
import type { Queryable } from '../db.ts';
import { pagedQuery } from './paging.ts';

export interface SeatGroupRow {
  id: number;
  account_id: number;
  app_id: number;
  group_name: string;
  callin_strategy: number;
  wrapup_seconds: number;
  last_offered_id: number | null;
  created_at: Date;
}

export interface SipAccountRow {
  id: number;
  account_id: number;
  app_id: number;
  group_id: number;
  username: string;
  password: string;
  phone_name: string;
  display_num: string;
  priority: number;
  state: AgentStateValue;
  state_at: Date;
  wrapup_until: Date | null;
  contact: string | null;
  expires_at: Date | null;
  call_count: number;
  last_call_start: Date | null;
  last_call_end: Date | null;
  hold_owner: string | null;
  hold_call: number | null;
  hold_until: Date | null;
  created_at: Date;
}

/**
 * SQL for "reads as idle at $now" — the same rule as effectiveState() in src/domain/agent-state.ts:
 * registered and unexpired, and idle, or in a wrap-up that has ended, or held by a call whose lease lapsed.
 */
export function idleAt(now: string, alias = ''): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  return `(${c('expires_at')} > ${now} AND (${c('state')} = 'idle'
    OR (${c('state')} = 'wrapup' AND (${c('wrapup_until')} IS NULL OR ${c('wrapup_until')} <= ${now}))
    OR (${c('state')} IN ('ringing', 'busy') AND ${c('hold_until')} <= ${now})))`;
}

/** The call holding an agent: its run's lease token, the call id, and until when it is known alive. */
export interface AgentHold {
  owner: string;
  callId: number;
  until: number;
}

export function newSipPassword(): string {
  return randomBytes(9).toString('base64url');
}

export async function insertSeatGroup(
  db: Queryable,
  args: { accountId: number; appId: number; name: string; strategy: number; now: number },
): Promise<SeatGroupRow | null> {
  const [row] = await db.query<SeatGroupRow>(
    `INSERT INTO seat_groups (account_id, app_id, group_name, callin_strategy, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, group_name) DO NOTHING RETURNING *`,
    [args.accountId, args.appId, args.name, args.strategy, new Date(args.now)],
  );
  return row ?? null;
}

export async function findSeatGroupByName(
  db: Queryable,
  appId: number,
  name: string,
): Promise<SeatGroupRow | null> {
  const [row] = await db.query<SeatGroupRow>(
    'SELECT * FROM seat_groups WHERE app_id = $1 AND group_name = $2',
    [appId, name],
  );
  return row ?? null;
}

export async function insertSipAccounts(
  db: Queryable,
  args: { group: SeatGroupRow; phoneName: string; displayNum: string; quantity: number; now: number },
): Promise<SipAccountRow[]> {
  const passwords = Array.from({ length: args.quantity }, newSipPassword);
  return db.query<SipAccountRow>(
    `INSERT INTO sip_accounts (account_id, app_id, group_id, password, phone_name, display_num, state_at, created_at)
     SELECT $1, $2, $3, p, $4, $5, $6, $6 FROM unnest($7::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n
     RETURNING *`,
    [
      args.group.account_id,
      args.group.app_id,
      args.group.id,
      args.phoneName,
      args.displayNum,
      new Date(args.now),
      passwords,
    ],
  );
}

export async function findSipAccount(db: Queryable, username: string): Promise<SipAccountRow | null> {
  const [row] = await db.query<SipAccountRow>('SELECT * FROM sip_accounts WHERE username = $1', [username]);
  return row ?? null;
}

/**
 * Stores a registration binding (RFC 3261 §10.3). An agent that reads as offline becomes idle; one that
 * is on a call keeps its state.
 */
export async function bindRegistration(
  db: Queryable,
  args: { username: string; contact: string; expiresAt: number; now: number },
): Promise<void> {
  const now = new Date(args.now);
  await db.query(
    `UPDATE sip_accounts SET contact = $2, expires_at = $3,
       state = CASE WHEN state = 'offline' OR expires_at IS NULL OR expires_at <= $4 THEN 'idle' ELSE state END,
       state_at = CASE WHEN state = 'offline' OR expires_at IS NULL OR expires_at <= $4 THEN $4 ELSE state_at END
     WHERE username = $1`,
    [args.username, args.contact, new Date(args.expiresAt), now],
  );
}

/** Removes the binding (REGISTER with expires 0): the agent is offline and is never offered a call. */
/**
 * The registrar's storage (telephony/sip/registrar.ts `RegistrationStore`, matched structurally so this
 * layer imports nothing from telephony): accounts and bindings in `sip_accounts`.
 */
export function registrationStore(db: Queryable) {
  return {
    async findAccount(username: string) {
      const row = await findSipAccount(db, username);
      return row
        ? { password: row.password, contact: row.contact, expiresAt: row.expires_at?.getTime() ?? null }
        : null;
    },
    bind: (args: { username: string; contact: string; expiresAt: number; now: number }) =>
      bindRegistration(db, args),
    unbind: (username: string, now: number) => unbindRegistration(db, username, now),
  };
}

export async function unbindRegistration(db: Queryable, username: string, now: number): Promise<void> {
  await db.query(
    `UPDATE sip_accounts SET contact = NULL, expires_at = NULL, state = 'offline', state_at = $2
     WHERE username = $1`,
    [username, new Date(now)],
  );
}

/**
 * Guarded state change; false when the agent was not in `from` (someone else moved it). With `owner`,
 * only the holder of the agent's hold may move it: a run whose hold lapsed and was taken over changes
 * nothing. Leaving ringing/busy for anything but busy releases the hold.
 */
export async function moveAgent(
  db: Queryable,
  args: {
    id: number;
    from: AgentStateValue;
    to: AgentStateValue;
    now: number;
    wrapupUntil?: number;
    owner?: string;
  },
): Promise<boolean> {
  stateTransition(args.from, args.to);
  const rows = await db.query(
    `UPDATE sip_accounts SET state = $3, state_at = $4,
       wrapup_until = CASE WHEN $3 = 'wrapup' THEN $5::timestamptz ELSE wrapup_until END,
       last_call_start = CASE WHEN $3 = 'busy' THEN $4 ELSE last_call_start END,
       last_call_end = CASE WHEN $2 = 'busy' THEN $4 ELSE last_call_end END,
       call_count = call_count + CASE WHEN $3 = 'busy' THEN 1 ELSE 0 END,
       hold_owner = CASE WHEN $3 IN ('ringing', 'busy') THEN hold_owner END,
       hold_call = CASE WHEN $3 IN ('ringing', 'busy') THEN hold_call END,
       hold_until = CASE WHEN $3 IN ('ringing', 'busy') THEN hold_until END
     WHERE id = $1 AND state = $2 AND ($6::text IS NULL OR hold_owner = $6) RETURNING id`,
    [
      args.id,
      args.from,
      args.to,
      new Date(args.now),
      args.wrapupUntil === undefined ? null : new Date(args.wrapupUntil),
      args.owner ?? null,
    ],
  );
  return rows.length > 0;
}

/** Renews the holds of agents taken by the calls this run has in flight, with their calls' leases. */
export async function extendAgentHolds(
  db: Queryable,
  args: { owner: string; callIds: readonly number[]; until: number },
): Promise<void> {
  if (args.callIds.length === 0) return;
  await db.query(
    `UPDATE sip_accounts SET hold_until = $3
     WHERE hold_call = ANY($1::int[]) AND hold_owner = $2 AND state IN ('ringing', 'busy')`,
    [args.callIds, args.owner, new Date(args.until)],
  );
}

export async function countIdleAgents(db: Queryable, groupId: number, now: number): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sip_accounts WHERE group_id = $1 AND ${idleAt('$2')}`,
    [groupId, new Date(now)],
  );
  return row?.n ?? 0;
}

export interface ClaimedAgent {
  id: number;
  username: string;
  contact: string | null;
  groupName: string;
  wrapupSeconds: number;
}

/**
 * Picks an idle agent of the group by its strategy and moves it to ringing, in one transaction that locks
 * the group row (so concurrent transfers take turns and round-robin's cursor stays exact).
 */
export async function claimAgent(
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> },
  groupId: number,
  now: number,
  hold?: AgentHold,
): Promise<ClaimedAgent | null> {
  return db.transaction(async (tx) => {
    const [group] = await tx.query<SeatGroupRow>('SELECT * FROM seat_groups WHERE id = $1 FOR UPDATE', [
      groupId,
    ]);
    if (!group) return null;
    const rows = await tx.query<SipAccountRow>(
      `SELECT * FROM sip_accounts WHERE group_id = $1 AND ${idleAt('$2')}`,
      [groupId, new Date(now)],
    );
    const candidates: Array<AgentCandidate & { row: SipAccountRow }> = rows.map((row) => ({
      row,
      id: row.id,
      state: row.state,
      expiresAt: row.expires_at?.getTime() ?? null,
      wrapupUntil: row.wrapup_until?.getTime() ?? null,
      holdUntil: row.hold_until?.getTime() ?? null,
      idleSince:
        row.state === AgentState.wrapup
          ? (row.wrapup_until?.getTime() ?? row.state_at.getTime())
          : row.state_at.getTime(),
      callCount: row.call_count,
      priority: row.priority,
    }));
    const chosen = selectAgent(candidates, group.callin_strategy, now, group.last_offered_id);
    if (!chosen) return null;
    const moved = await tx.query(
      `UPDATE sip_accounts SET state = 'ringing', state_at = $3, hold_owner = $4, hold_call = $5, hold_until = $6
       WHERE id = $1 AND state = $2 RETURNING id`,
      [
        chosen.id,
        chosen.row.state,
        new Date(now),
        hold?.owner ?? null,
        hold?.callId ?? null,
        hold ? new Date(hold.until) : null,
      ],
    );
    if (moved.length === 0) return null;
    await tx.query('UPDATE seat_groups SET last_offered_id = $2 WHERE id = $1', [groupId, chosen.id]);
    return {
      id: chosen.id,
      username: chosen.row.username,
      contact: chosen.row.contact,
      groupName: group.group_name,
      wrapupSeconds: group.wrapup_seconds,
    };
  });
}

export type SeatGroupSummary = SeatGroupRow & { count_seat: number; online_seat: number };

/** An account's seat groups with their seat counts; online = registered and not expired at `now`. */
export async function seatGroupSummaries(
  db: Queryable,
  filter: { accountId: number; appId?: number; groupName?: string; groupId?: number; now: number },
): Promise<SeatGroupSummary[]> {
  return db.query<SeatGroupSummary>(
    `SELECT g.*, count(s.id)::int AS count_seat,
       count(s.id) FILTER (WHERE s.expires_at > $4)::int AS online_seat
     FROM seat_groups g LEFT JOIN sip_accounts s ON s.group_id = g.id
     WHERE g.account_id = $1 AND ($2::int IS NULL OR g.app_id = $2) AND ($3::text IS NULL OR g.group_name = $3)
       AND ($5::int IS NULL OR g.id = $5)
     GROUP BY g.id ORDER BY g.id`,
    [
      filter.accountId,
      filter.appId ?? null,
      filter.groupName ?? null,
      new Date(filter.now),
      filter.groupId ?? null,
    ],
  );
}

export type SipAccountListRow = SipAccountRow & { group_name: string };

export interface SipAccountFilter {
  accountId: number;
  appId?: number;
  groupName?: string;
  username?: string;
}

/** One page of an account's SIP phone accounts (spec §7 sipQuery). */
export const querySipAccounts = pagedQuery<SipAccountFilter, SipAccountListRow>(
  {
    select: 'g.group_name, s.*',
    from: 'sip_accounts s JOIN seat_groups g ON g.id = s.group_id',
    where: `s.account_id = $1 AND ($2::int IS NULL OR s.app_id = $2)
        AND ($3::text IS NULL OR g.group_name = $3) AND ($4::text IS NULL OR s.username = $4)`,
    orderBy: 's.id',
  },
  (filter) => [filter.accountId, filter.appId ?? null, filter.groupName ?? null, filter.username ?? null],
);

/** Sets a new password on one of the account's SIP accounts; false when it has no such account. */
export async function resetSipPassword(
  db: Queryable,
  args: { accountId: number; username: string; password: string },
): Promise<boolean> {
  const rows = await db.query(
    'UPDATE sip_accounts SET password = $3 WHERE username = $1 AND account_id = $2 RETURNING username',
    [args.username, args.accountId, args.password],
  );
  return rows.length > 0;
}
