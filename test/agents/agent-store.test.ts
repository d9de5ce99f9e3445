import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.ts';
import {
  bindRegistration,
  claimAgent,
  countIdleAgents,
  extendAgentHolds,
  insertSeatGroup,
  insertSipAccounts,
  moveAgent,
  type SeatGroupRow,
  type SipAccountRow,
  unbindRegistration,
} from '../../src/db/queries/agents.ts';
import { seatGroupDb } from '../helpers/harness.ts';

describe('agents in the database: registration, guarded moves, claiming', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let group: SeatGroupRow;
  let agents: SipAccountRow[];
  const t0 = Date.parse('2026-11-25T02:00:00Z');

  beforeAll(async () => {
    ({ db, drop, group, agents } = await seatGroupDb('store-group', t0, {
      strategy: 4,
      phoneName: 'phone',
      quantity: 3,
    }));
  });
  afterAll(async () => drop?.());

  it('unregistered agents are never claimed; registered ones are, round-robin', async () => {
    expect(await claimAgent(db, group.id, t0)).toBeNull();
    for (const a of agents) {
      await bindRegistration(db, {
        username: a.username,
        contact: `sip:${a.username}@127.0.0.1:5060`,
        expiresAt: t0 + 60_000,
        now: t0,
      });
    }
    expect(await countIdleAgents(db, group.id, t0)).toBe(3);
    const first = await claimAgent(db, group.id, t0);
    const second = await claimAgent(db, group.id, t0);
    expect([first?.id, second?.id]).toEqual([agents[0]!.id, agents[1]!.id]);
    expect(await countIdleAgents(db, group.id, t0)).toBe(1);
    // the claimed agents go back: one after no answer, one after a call and its wrap-up
    expect(await moveAgent(db, { id: first!.id, from: 'ringing', to: 'idle', now: t0 })).toBe(true);
    expect(await moveAgent(db, { id: second!.id, from: 'ringing', to: 'busy', now: t0 })).toBe(true);
    expect(await moveAgent(db, { id: second!.id, from: 'ringing', to: 'busy', now: t0 })).toBe(false);
    expect(
      await moveAgent(db, {
        id: second!.id,
        from: 'busy',
        to: 'wrapup',
        now: t0 + 5000,
        wrapupUntil: t0 + 8000,
      }),
    ).toBe(true);
    expect(await countIdleAgents(db, group.id, t0 + 7000)).toBe(2);
    expect(await countIdleAgents(db, group.id, t0 + 8000)).toBe(3);
    await expect(moveAgent(db, { id: first!.id, from: 'idle', to: 'busy', now: t0 })).rejects.toThrow(
      /invalid agent state/,
    );
  });

  it('an expired binding is offline: counted out and never claimed', async () => {
    const later = t0 + 60_000;
    expect(await countIdleAgents(db, group.id, later)).toBe(0);
    expect(await claimAgent(db, group.id, later)).toBeNull();
  });

  it('an unregistered agent (expires 0) is never claimed, a re-registered one is', async () => {
    const now = t0 + 70_000;
    for (const a of agents) {
      await bindRegistration(db, {
        username: a.username,
        contact: 'sip:x@127.0.0.1',
        expiresAt: now + 60_000,
        now,
      });
    }
    await unbindRegistration(db, agents[0]!.username, now);
    await unbindRegistration(db, agents[1]!.username, now);
    const claimed = await claimAgent(db, group.id, now);
    expect(claimed?.id).toBe(agents[2]!.id);
    expect(await claimAgent(db, group.id, now)).toBeNull();
  });

  it('concurrent claims never take the same agent twice', async () => {
    const now = t0 + 80_000;
    for (const a of agents) {
      await unbindRegistration(db, a.username, now);
      await bindRegistration(db, {
        username: a.username,
        contact: 'sip:x@127.0.0.1',
        expiresAt: now + 60_000,
        now,
      });
    }
    const claims = await Promise.all(Array.from({ length: 8 }, () => claimAgent(db, group.id, now)));
    const ids = claims.filter((c) => c !== null).map((c) => c.id);
    expect(ids.length).toBe(3);
    expect(new Set(ids).size).toBe(3);
  });

  it('an agent held by a run that died is idle again after one lease; the dead run can no longer move it', async () => {
    const t = t0 + 200_000;
    const lease = 30_000;
    const held = (await insertSeatGroup(db, {
      accountId: group.account_id,
      appId: group.app_id,
      name: 'hold-group',
      strategy: 1,
      now: t,
    }))!;
    const [agent] = await insertSipAccounts(db, {
      group: held,
      phoneName: 'held',
      displayNum: '',
      quantity: 1,
      now: t,
    });
    await bindRegistration(db, {
      username: agent!.username,
      contact: 'sip:h@127.0.0.1',
      expiresAt: t + 600_000,
      now: t,
    });

    const claimed = await claimAgent(db, held.id, t, { owner: 'run-dead', callId: 1, until: t + lease });
    expect(claimed?.id).toBe(agent!.id);
    expect(
      await moveAgent(db, { id: agent!.id, from: 'ringing', to: 'busy', now: t, owner: 'run-dead' }),
    ).toBe(true);
    // A live run renews the hold with its call's lease.
    await extendAgentHolds(db, { owner: 'run-dead', callIds: [1], until: t + 2 * lease });
    expect(await countIdleAgents(db, held.id, t + lease + 1)).toBe(0);
    expect(
      await claimAgent(db, held.id, t + lease + 1, { owner: 'run-b', callId: 2, until: t + 3 * lease }),
    ).toBeNull();
    // Renewals stop (the process was killed): one lease later the agent reads as idle and is offered again.
    expect(await countIdleAgents(db, held.id, t + 2 * lease + 1)).toBe(1);
    const retaken = await claimAgent(db, held.id, t + 2 * lease + 1, {
      owner: 'run-b',
      callId: 2,
      until: t + 4 * lease,
    });
    expect(retaken?.id).toBe(agent!.id);
    expect(
      await moveAgent(db, {
        id: agent!.id,
        from: 'busy',
        to: 'wrapup',
        now: t + 2 * lease + 2,
        owner: 'run-dead',
      }),
    ).toBe(false);
    expect(
      await moveAgent(db, {
        id: agent!.id,
        from: 'ringing',
        to: 'idle',
        now: t + 2 * lease + 3,
        owner: 'run-b',
      }),
    ).toBe(true);
    const [row] = await db.query<{ state: string; hold_owner: string | null }>(
      'SELECT state, hold_owner FROM sip_accounts WHERE id = $1',
      [agent!.id],
    );
    expect(row).toEqual({ state: 'idle', hold_owner: null });
  });
});
