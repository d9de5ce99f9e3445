/**
 * Request authentication (spec §1): Api-Key + Timestamp + Sign (MD5, compatible scheme) or, per account,
 * the strong scheme (Nonce + Signature, HMAC-SHA256). Then the account's IP allow-list.
 */
import type { FastifyRequest } from 'fastify';
import { findAccountByKey, useNonce } from '../db/queries/accounts.ts';
import { ApiError, ResultCode } from '../domain/errors.ts';
import { compatSign, hmacSign, signaturesMatch, timestampInWindow } from '../domain/sign.ts';
import type { ApiContext } from './context.ts';

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export function ipAllowed(allowList: readonly string[], ip: string): boolean {
  if (allowList.length === 0) return true;
  const normalised = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return allowList.some((allowed) => allowed === normalised || allowed === ip);
}

export async function authenticate(ctx: ApiContext, request: FastifyRequest): Promise<void> {
  const apiKey = header(request, 'api-key');
  const timestamp = header(request, 'timestamp');
  const sign = header(request, 'sign');
  const signature = header(request, 'signature');
  if (!apiKey) throw new ApiError(ResultCode.authentication, 'Api-Key header is missing');
  const account = await findAccountByKey(ctx.db, apiKey);
  if (!account || account.disabled) throw new ApiError(ResultCode.authentication, 'unknown Api-Key');
  // Signatures are checked against the wall clock: clients sign with real time even when the engine's
  // clock runs fast (demo, tests).
  if (!timestampInWindow(timestamp, Date.now())) {
    throw new ApiError(
      ResultCode.timestampExpired,
      'Timestamp is missing or more than 300 s from server time',
    );
  }
  if (signature) {
    const nonce = header(request, 'nonce');
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(nonce)) {
      throw new ApiError(ResultCode.authentication, 'Nonce must be 8-64 characters of [A-Za-z0-9_-]');
    }
    const expected = hmacSign(account.api_secret, {
      timestamp,
      nonce,
      method: request.method,
      path: request.url,
      body: request.rawBody ?? '',
    });
    if (!signaturesMatch(expected, signature)) throw new ApiError(ResultCode.authentication, 'bad Signature');
    if (!(await useNonce(ctx.db, account.id, nonce, Date.now()))) {
      throw new ApiError(ResultCode.authentication, 'Nonce was already used');
    }
  } else {
    if (account.require_hmac) {
      throw new ApiError(
        ResultCode.authentication,
        'this account requires the Signature (HMAC-SHA256) scheme',
      );
    }
    if (!sign || !signaturesMatch(compatSign(apiKey, account.api_secret, timestamp), sign)) {
      throw new ApiError(ResultCode.authentication, 'bad Sign');
    }
  }
  if (!ipAllowed(account.ip_allow_list, request.ip)) {
    throw new ApiError(ResultCode.ipNotAllowed, `IP ${request.ip} is not in the account's allow-list`);
  }
  request.account = account;
}
