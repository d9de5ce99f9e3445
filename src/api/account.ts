/**
 * [ours] `/voice/account/info`: who the signed-in key belongs to: account name, time zone (the zone of every
 * wire time), apps, limits and whether the HMAC scheme is required. The console reads it to sign in and to
 * know the appId and zone; it shows nothing the key cannot already do.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { listApps } from '../db/queries/accounts.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope } from './responses.ts';

const AccountInfo = Type.Object({
  accountName: Type.String(),
  timeZone: Type.String(),
  apps: Type.Array(Type.Object({ appId: Type.Integer(), name: Type.String() })),
  maxConcurrency: Type.Integer(),
  callsPerSecond: Type.Number(),
  requireHmac: Type.Boolean(),
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
    };
    return ok(info);
  };
  const schema = {
    description: '[ours] the signed-in account: name, time zone, apps, limits',
    response: { 200: Envelope(AccountInfo, 'the account') },
  };
  app.get('/voice/account/info', { schema }, handler);
  app.post('/voice/account/info', { schema }, handler);
}
