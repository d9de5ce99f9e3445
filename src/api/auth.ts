/**
 * Request authentication (spec §1), done before any of the body is read:
 *
 *   onRequest      Api-Key → account (cached briefly, account-lookup.ts); Timestamp window; compat scheme: MD5 Sign, then the IP allow-list.
 *                  Strong scheme (Signature header): nonce format and the IP allow-list; the HMAC itself
 *                  covers the body, so it is checked on the raw bytes before they are parsed
 *                  (`verifyPendingSignature`, called by the JSON parser, or before validation when there
 *                  is no body).
 *
 * A request that fails here is answered at once and its body is never read (the connection is closed).
 * An unknown key, a disabled account and a wrong signature get the same answer, so the API does not tell
 * which keys exist.
 */
import type { FastifyRequest } from 'fastify';
import { type AccountRow, useNonce } from '../db/queries/accounts.ts';
import { ApiError, ResultCode } from '../domain/errors.ts';
import { compatSign, hmacSign, signaturesMatch, timestampInWindow } from '../domain/sign.ts';
import type { AccountLookup } from './account-lookup.ts';
import type { ApiContext } from './context.ts';

/** The one answer for "we do not know you": unknown or disabled key, or a signature that does not match. */
export const authenticationFailed = 'authentication failed: unknown Api-Key or wrong signature';

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export function ipAllowed(allowList: readonly string[], ip: string): boolean {
  if (allowList.length === 0) return true;
  const normalised = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return allowList.some((allowed) => allowed === normalised || allowed === ip);
}

function checkIp(account: AccountRow, request: FastifyRequest): void {
  if (!ipAllowed(account.ip_allow_list, request.ip)) {
    throw new ApiError(ResultCode.ipNotAllowed, `IP ${request.ip} is not in the account's allow-list`);
  }
}

/** A strong-scheme request whose headers passed; its Signature is checked once the body is in. */
interface PendingSignature {
  account: AccountRow;
  timestamp: string;
  nonce: string;
  signature: string;
}

const pending = new WeakMap<FastifyRequest, PendingSignature>();

/** onRequest: everything that needs no body. Sets `request.account` when the request is fully authenticated. */
export async function authenticateHeaders(accounts: AccountLookup, request: FastifyRequest): Promise<void> {
  const apiKey = header(request, 'api-key');
  const timestamp = header(request, 'timestamp');
  const sign = header(request, 'sign');
  const signature = header(request, 'signature');
  if (!apiKey) throw new ApiError(ResultCode.authentication, 'Api-Key header is missing');
  // Header-only checks come before the key is looked up, so their answers say nothing about the key.
  // Signatures are checked against the wall clock: clients sign with real time even when the engine's
  // clock runs fast (demo, tests).
  if (!timestampInWindow(timestamp, Date.now())) {
    throw new ApiError(
      ResultCode.timestampExpired,
      'Timestamp is missing or more than 300 s from server time',
    );
  }
  const nonce = header(request, 'nonce');
  if (signature && !/^[A-Za-z0-9_-]{8,64}$/.test(nonce)) {
    throw new ApiError(ResultCode.authentication, 'Nonce must be 8-64 characters of [A-Za-z0-9_-]');
  }
  if (apiKey.length > 128) throw new ApiError(ResultCode.authentication, authenticationFailed);
  const account = await accounts.find(apiKey);
  if (!account || account.disabled) throw new ApiError(ResultCode.authentication, authenticationFailed);
  if (signature) {
    // Checked before the body is read: a caller outside the allow-list never gets to send one.
    checkIp(account, request);
    pending.set(request, { account, timestamp, nonce, signature });
    return;
  }
  if (!sign || !signaturesMatch(compatSign(apiKey, account.api_secret, timestamp), sign)) {
    throw new ApiError(ResultCode.authentication, authenticationFailed);
  }
  // Said only to a caller who proved it knows the secret.
  if (account.require_hmac) {
    throw new ApiError(ResultCode.authentication, 'this account requires the Signature (HMAC-SHA256) scheme');
  }
  checkIp(account, request);
  request.account = account;
}

/**
 * The strong scheme's second half: the HMAC over the raw body (before it is parsed), then the nonce is
 * spent. No-op for requests already authenticated by their headers.
 */
export async function verifyPendingSignature(
  ctx: ApiContext,
  request: FastifyRequest,
  rawBody: string,
): Promise<void> {
  const waiting = pending.get(request);
  if (!waiting) return;
  pending.delete(request);
  const { account, timestamp, nonce, signature } = waiting;
  const expected = hmacSign(account.api_secret, {
    timestamp,
    nonce,
    method: request.method,
    path: request.url,
    body: rawBody,
  });
  if (!signaturesMatch(expected, signature))
    throw new ApiError(ResultCode.authentication, authenticationFailed);
  if (!(await useNonce(ctx.db, account.id, nonce, Date.now()))) {
    throw new ApiError(ResultCode.authentication, 'Nonce was already used');
  }
  request.account = account;
}

/** preValidation: a request must be authenticated by now (a bodiless strong-scheme request is, here). */
export async function requireAuthenticated(ctx: ApiContext, request: FastifyRequest): Promise<void> {
  await verifyPendingSignature(ctx, request, '');
  if (!request.account) throw new ApiError(ResultCode.authentication, authenticationFailed);
}
