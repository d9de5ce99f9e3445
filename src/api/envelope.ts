/**
 * The response envelope (spec §1) and the one place that maps anything thrown to a result code.
 * Every answered request is HTTP 200 with `status`/`reason` and their mirrors `code`/`msg`.
 */
import type { FastifyError } from 'fastify';
import { ApiError, ResultCode, type ResultCodeValue } from '../domain/errors.ts';
import { MediaBusyError, MediaInputError } from '../media/types.ts';
import { type AjvIssue, validationReason } from './validation-reason.ts';

export interface Envelope<T = unknown> {
  status: ResultCodeValue;
  reason: string;
  code: ResultCodeValue;
  msg: string;
  data?: T;
}

export function ok<T>(data: T): Envelope<T> {
  return { status: ResultCode.success, reason: 'success', code: ResultCode.success, msg: 'success', data };
}

export function failure(code: ResultCodeValue, reason: string): Envelope {
  return { status: code, reason, code, msg: reason, data: null };
}

/** Normalises anything a request handler threw into an envelope; `internal` is called for real faults. */
export function toEnvelope(error: unknown, internal: (error: unknown) => void): Envelope {
  if (error instanceof ApiError) return failure(error.code, error.reason);
  if (error instanceof MediaInputError)
    return failure(ResultCode.parameter, `${error.field}: ${error.message}`);
  if (error instanceof MediaBusyError)
    return failure(ResultCode.limitReached, `${error.field}: ${error.message}`);
  const fastifyError = error as Partial<FastifyError> & { validation?: AjvIssue[] };
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const issue = fastifyError.validation[0]!;
    return failure(ResultCode.parameter, validationReason(issue));
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return failure(ResultCode.limitReached, 'body: request body is too large');
  }
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Malformed JSON, wrong content type and the like: the client's input, described without internals.
    const what =
      fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'content-type must be application/json'
        : 'must be valid JSON';
    return failure(ResultCode.parameter, `body: ${what}`);
  }
  internal(error);
  return failure(ResultCode.systemException, 'system exception');
}
