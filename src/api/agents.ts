/**
 * Agents (spec §3 "Agents"): SIP phone accounts and seat groups.
 *
 * [ours] `/voice/sipAdd` creates the seat group named `groupName` when the app has none by that name
 * (callinStrategy 1), because the originals' sipAdd takes a group *name*, not an id; `/cc/seatGroup/addGroup`
 * on an existing name is still -20. Accounts (SIP user names) are numbers unique across the service, since
 * the registrar knows an agent by user name alone.
 */
import { Type } from '@sinclair/typebox';
import type { AccountRow } from '../db/queries/accounts.ts';
import { findApp } from '../db/queries/accounts.ts';
import {
  findSeatGroupByName,
  insertSeatGroup,
  insertSipAccounts,
  newSipPassword,
  querySipAccounts,
  resetSipPassword,
  type SipAccountRow,
  seatGroupSummaries,
} from '../db/queries/agents.ts';
import { ownsSipAccount } from '../db/queries/ownership.ts';
import { effectiveStateOfRow } from '../domain/agent-state.ts';
import { ApiError, notFound, ResultCode } from '../domain/errors.ts';
import { formatInZone } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope, IdData, NewSipAccount, PageData, SeatGroup, SipAccountRecord } from './responses.ts';
import { Id, page, withPaging } from './schemas.ts';

const groupName = Type.String({ minLength: 4, maxLength: 32 });
const appId = Id();
const callinStrategy = Type.Integer({
  minimum: 1,
  maximum: 4,
  description: '1 longest idle, 2 fewest calls, 3 priority, 4 round-robin',
});

const SipAddBody = Type.Object({
  appId,
  groupName,
  phoneName: Type.String({ minLength: 4, maxLength: 32 }),
  quantity: Type.Integer({ minimum: 1, maximum: 50 }),
  displayNum: Type.Optional(Type.String({ pattern: '^[0-9]{0,20}$' })),
});

const SipQueryBody = withPaging(
  Type.Object({
    appId: Type.Optional(appId),
    groupName: Type.Optional(Type.String({ maxLength: 32 })),
    account: Type.Optional(Type.String({ maxLength: 32 })),
  }),
);

const SipResetBody = Type.Object({
  account: Type.String({
    minLength: 1,
    maxLength: 32,
    description: 'the SIP account whose password is reset',
  }),
});

const AddGroupBody = Type.Object({ appId, groupName, callinStrategy: Type.Optional(callinStrategy) });

const GroupQueryBody = Type.Object({
  appId: Type.Optional(appId),
  groupName: Type.Optional(Type.String({ maxLength: 32 })),
});

async function ownedApp(ctx: ApiContext, account: AccountRow, id: number) {
  const app = await findApp(ctx.db, account.id, id);
  if (!app) throw notFound(`appId ${id}`);
  return app;
}

/** What sipAdd answers for each new account, and the start of each sipQuery record. */
function newSipAccountView(groupName: string, row: SipAccountRow): typeof NewSipAccount.static {
  return {
    groupName,
    phoneName: row.phone_name,
    account: row.username,
    password: row.password,
    displayNum: row.display_num,
  };
}

export function registerAgentRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    '/cc/seatGroup/addGroup',
    { schema: { body: AddGroupBody, response: IdData('the new seat group id (voiceGroupId)') } },
    async (request) => {
      const { body, account } = request;
      await ownedApp(ctx, account, body.appId);
      const group = await insertSeatGroup(ctx.db, {
        accountId: account.id,
        appId: body.appId,
        name: body.groupName,
        strategy: body.callinStrategy ?? 1,
        now: ctx.clock.now(),
      });
      if (!group) throw new ApiError(ResultCode.alreadyExists, 'groupName: already exists in this app');
      return ok(group.id);
    },
  );

  app.post(
    '/cc/seatGroup/query',
    {
      schema: { body: GroupQueryBody, response: { 200: Envelope(Type.Array(SeatGroup), 'the seat groups') } },
    },
    async (request) => {
      const { body, account } = request;
      if (body.appId !== undefined) await ownedApp(ctx, account, body.appId);
      const rows = await seatGroupSummaries(ctx.db, {
        accountId: account.id,
        ...(body.appId === undefined ? {} : { appId: body.appId }),
        ...(body.groupName === undefined ? {} : { groupName: body.groupName }),
        now: ctx.clock.now(),
      });
      return ok(
        rows.map((row) => ({
          voiceGroupId: row.id,
          groupName: row.group_name,
          callinStrategy: row.callin_strategy,
          countSeat: row.count_seat,
          appId: row.app_id,
          onlineSeat: row.online_seat,
          createdTime: formatInZone(row.created_at, account.time_zone),
        })),
      );
    },
  );

  app.post(
    '/voice/sipAdd',
    {
      schema: {
        body: SipAddBody,
        response: { 200: Envelope(Type.Array(NewSipAccount), 'the created SIP accounts') },
      },
    },
    async (request) => {
      const { body, account } = request;
      await ownedApp(ctx, account, body.appId);
      const now = ctx.clock.now();
      const created = await ctx.db.transaction(async (tx) => {
        await insertSeatGroup(tx, {
          accountId: account.id,
          appId: body.appId,
          name: body.groupName,
          strategy: 1,
          now,
        });
        const group = await findSeatGroupByName(tx, body.appId, body.groupName);
        if (!group) throw new Error('seat group vanished');
        return insertSipAccounts(tx, {
          group,
          phoneName: body.phoneName,
          displayNum: body.displayNum ?? '',
          quantity: body.quantity,
          now,
        });
      });
      return ok(created.map((row) => newSipAccountView(body.groupName, row)));
    },
  );

  app.post(
    '/voice/sipQuery',
    { schema: { body: SipQueryBody, response: PageData(SipAccountRecord, 'a page of SIP accounts') } },
    async (request) => {
      const { body, account } = request;
      const p = body.params ?? {};
      // Filters naming an id must name the caller's own (another account's is "does not exist").
      if (p.appId !== undefined) await ownedApp(ctx, account, p.appId);
      if (
        p.account !== undefined &&
        !(await ownsSipAccount(ctx.db, { accountId: account.id, username: p.account }))
      )
        throw notFound(`params.account ${p.account}`);
      const { total, rows } = await querySipAccounts(
        ctx.db,
        {
          accountId: account.id,
          ...(p.appId === undefined ? {} : { appId: p.appId }),
          ...(p.groupName === undefined ? {} : { groupName: p.groupName }),
          ...(p.account === undefined ? {} : { username: p.account }),
        },
        body,
      );
      const now = ctx.clock.now();
      const records = rows.map((row) => ({
        ...newSipAccountView(row.group_name, row),
        appId: row.app_id,
        voiceGroupId: row.group_id,
        state: effectiveStateOfRow(row, now),
        registeredUntil: row.expires_at ? formatInZone(row.expires_at, account.time_zone) : null,
        callCount: row.call_count,
      }));
      return ok(page(records, total, body.current, body.size));
    },
  );

  app.post(
    '/voice/sipReset',
    {
      schema: {
        body: SipResetBody,
        response: {
          200: Envelope(Type.Object({ account: Type.String(), password: Type.String() }), 'the new password'),
        },
      },
    },
    async (request) => {
      const body = request.body;
      const password = newSipPassword();
      const reset = await resetSipPassword(ctx.db, {
        accountId: request.account.id,
        username: body.account,
        password,
      });
      if (!reset) throw notFound(`account ${body.account}`);
      return ok({ account: body.account, password });
    },
  );
}
