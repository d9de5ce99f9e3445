import { countSegments } from './encoding.ts';
import { type SmsLogger, silentLogger } from './logger.ts';
import { type SmsMessage, SmsSendError, type SmsSendResult, type SmsTransport } from './transport.ts';

export interface HttpTransportConfig {
  /** Endpoint that accepts POST {id, to, from, text, segments} as JSON. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Whole-request timeout; default 10 s. */
  timeoutMs?: number;
  logger?: SmsLogger;
}

/** Body of the POST; `segments` lets a gateway bill or check without re-encoding. */
export interface HttpSmsRequest {
  id: string;
  to: string;
  from: string;
  text: string;
  segments: number;
}

/**
 * Hands each SMS to an HTTP gateway. Status mapping: 2xx sent; 408, 429, 5xx and network failures or
 * timeouts retryable (the gateway may accept it later); any other status final, since resending the
 * same request would be refused the same way.
 */
export class HttpTransport implements SmsTransport {
  readonly name = 'http';
  private readonly log: SmsLogger;
  private readonly timeoutMs: number;

  constructor(private readonly config: HttpTransportConfig) {
    this.log = config.logger ?? silentLogger;
    this.timeoutMs = config.timeoutMs ?? 10_000;
  }

  async send(message: SmsMessage): Promise<SmsSendResult> {
    const segments = countSegments(message.text);
    const body: HttpSmsRequest = { ...pick(message), segments };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    let response: Response;
    let responseText: string;
    try {
      response = await fetch(this.config.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      responseText = await response.text();
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `timed out after ${this.timeoutMs} ms`
          : describeFetchError(error);
      throw new SmsSendError(`SMS gateway ${this.config.url} unreachable: ${reason}`, true);
    }
    if (response.ok) {
      const providerId = messageIdFrom(responseText) ?? message.id;
      this.log.info(
        { id: message.id, to: message.to, segments, providerMessageId: providerId },
        'sms posted',
      );
      return { providerMessageIds: [providerId], segments };
    }
    const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
    const error = new SmsSendError(
      `SMS gateway answered ${response.status} ${response.statusText}: ${responseText.slice(0, 200)}`,
      retryable,
    );
    this.log.warn(
      { id: message.id, to: message.to, status: response.status, retryable },
      'sms gateway refused',
    );
    throw error;
  }

  /** A plain HTTP gateway has no receipt channel: the handler is not even kept. */
  onReceipt(): void {}

  async close(): Promise<void> {}
}

function pick(message: SmsMessage): Omit<HttpSmsRequest, 'segments'> {
  return { id: message.id, to: message.to, from: message.from, text: message.text };
}

function messageIdFrom(text: string): string | undefined {
  if (!text.trim()) return undefined;
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object' && 'messageId' in json) {
      const id = json.messageId;
      if (typeof id === 'string' && id !== '') return id;
      if (typeof id === 'number') return String(id);
    }
  } catch {
    // A 2xx with a non-JSON body still means accepted; fall back to our id.
  }
  return undefined;
}

/** undici hides the useful part (ECONNREFUSED…) in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message} (${cause.message})`;
  return error.message;
}
