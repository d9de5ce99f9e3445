/**
 * Which database errors are worth retrying, and the one retry helper that knows it (after
 * graphile-worker's `withRetries`): connection loss, serialization failure, deadlock and server
 * shutdown are transient; anything else (a constraint violation, a bad statement) fails the same way
 * every time and is thrown at once, so the caller can log it and leave the row to its lease.
 */
import { sleepReal } from '../clock.ts';

/** SQLSTATEs that say "try again": the statement was fine, the moment was not. */
const transientSqlStates = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
]);

/** Socket-level error codes from Node. */
const transientSocketCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** What node-postgres says when the connection, not the statement, failed. */
const connectionMessages = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Connection closed',
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The connection itself is gone or stuck: no point in sending it a ROLLBACK. */
export function isConnectionLost(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (code.startsWith('08') || transientSocketCodes.has(code))) return true;
  const message = error instanceof Error ? error.message : String(error);
  return connectionMessages.some((text) => message.includes(text));
}

export function isTransientDbError(error: unknown): boolean {
  if (isConnectionLost(error)) return true;
  const code = codeOf(error);
  return code !== undefined && transientSqlStates.has(code);
}

export interface RetryOptions {
  /** Stops retrying (the last error is thrown) once aborted: shutdown must not wait on a dead database. */
  signal?: AbortSignal;
  /** First back-off in ms; doubles per attempt up to `maxDelayMs`, with full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `work` until it succeeds, retrying transient failures with jittered, capped exponential
 * back-off. Permanent failures, and any failure once `signal` has aborted, are thrown.
 */
export async function withRetries<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, baseDelayMs = 100, maxDelayMs = 5_000, isRetryable = isTransientDbError } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || signal?.aborted) throw error;
      // Full jitter: processes that lost the database together do not come back in lock step.
      const delayMs = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
      options.onRetry?.(error, attempt, delayMs);
      await sleepReal(delayMs, signal);
      if (signal?.aborted) throw error;
    }
  }
}
