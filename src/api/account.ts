/**
 * [ours] `/voice/account/callingRules` (spec §8, per account): `legalWindow` (in the callee's local time,
 * on top of every task's windows) and `maxAttemptsPerNumber` (across all tasks and rounds); a field left
 * out stays as it is, null turns it off. Answers the rules in force.
 *
 * [ours] `/voice/account/info`: who the signed-in key belongs to: account name, time zone (the zone of every
 * wire time), apps, limits and whether the HMAC scheme is required. The console reads it to sign in and to
 * know the appId and zone; it shows nothing the key cannot already do.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { accountsChanged, listApps } from '../db/queries/accounts.ts';
import { accountRulesOf, setAccountRules } from '../db/queries/calling-rules.ts';
import { invalid } from '../domain/errors.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope, Nullable } from './responses.ts';

/** The account's calling rules in force (spec §8); null = off. */
const CallingRules = Type.Object({
  legalWindow: Nullable(Type.Object({ strTime: Type.String(), endTime: Type.String() })),
  maxAttemptsPerNumber: Nullable(Type.Object({ count: Type.Integer(), days: Type.Integer() })),
});

const AccountInfo = Type.Object({
  accountName: Type.String(),
  timeZone: Type.String(),
  apps: Type.Array(Type.Object({ appId: Type.Integer(), name: Type.String() })),
  maxConcurrency: Type.Integer(),
  callsPerSecond: Type.Number(),
  requireHmac: Type.Boolean(),
  ...CallingRules.properties,
});

const hhmm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
const RulesBody = Type.Object({
  legalWindow: Type.Optional(
    Type.Union([Type.Object({ strTime: hhmm, endTime: hhmm }), Type.Null()], {
      description: "HH:mm range in the callee's local time; null = off",
    }),
  ),
  maxAttemptsPerNumber: Type.Optional(
    Type.Union(
      [
        Type.Object({
          count: Type.Integer({ minimum: 1, maximum: 1000 }),
          days: Type.Integer({ minimum: 1, maximum: 366 }),
        }),
        Type.Null(),
      ],
      { description: 'at most `count` attempts per number in any `days` days; null = off' },
    ),
  ),
});

export function registerAccountRoutes(app: ApiApp, ctx: ApiContext): void {
  const handler = async (request: FastifyRequest) => {
    const account = request.account;
    const apps = await listApps(ctx.db, account.id);
    const info: typeof AccountInfo.static = {
      accountName: account.name,
      timeZone: account.time_zone,
      apps: apps.map((row) => ({ appId: row.id, name: row.name })),
      maxConcurrency: account.max_concurrency,
      callsPerSecond: account.calls_per_second,
      requireHmac: account.require_hmac,
      ...accountRulesOf(account),
    };
    return ok(info);
  };
  const schema = {
    description: '[ours] the signed-in account: name, time zone, apps, limits',
    response: { 200: Envelope(AccountInfo, 'the account') },
  };
  app.get('/voice/account/info', { schema }, handler);
  app.post('/voice/account/info', { schema }, handler);

  const rulesSchema = {
    description: "[ours] sets the account's calling rules (spec §8); answers the rules in force",
    body: RulesBody,
    response: { 200: Envelope(CallingRules, 'the calling rules in force') },
  };
  app.post('/voice/account/callingRules', { schema: rulesSchema }, async (request) => {
    const body = request.body;
    if (body.legalWindow && body.legalWindow.strTime === body.legalWindow.endTime) {
      throw invalid('legalWindow', 'strTime and endTime must differ');
    }
    const rules = await ctx.db.transaction((tx) =>
      setAccountRules(tx, {
        accountId: request.account.id,
        rules: {
          ...(body.legalWindow !== undefined ? { legalWindow: body.legalWindow } : {}),
          ...(body.maxAttemptsPerNumber !== undefined
            ? { maxAttemptsPerNumber: body.maxAttemptsPerNumber }
            : {}),
        },
        now: ctx.clock.now(),
      }),
    );
    // Again after the commit: a request that read the row before it must not keep the old rules cached.
    accountsChanged();
    return ok(rules);
  });
}
