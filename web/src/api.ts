/**
 * The console's only way to the service: the public API, same origin, every request signed with the
 * account's key and secret (sign.ts). Failures become ApiFailure with the reason in words and the code.
 */
import { type Credentials, signedHeaders } from './sign.ts';
import { errorInWords } from './words.ts';

export interface Envelope<T> {
  status: string;
  reason: string;
  data: T;
}

export interface Page<T> {
  total: number;
  size: number;
  current: number;
  pages: number;
  records: T[];
}

export class ApiFailure extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(errorInWords(code, reason));
    this.name = 'ApiFailure';
  }
}

const storageKey = 'ringcast.console.credentials';

/** Kept for this browser tab (sessionStorage): a reload stays signed in, closing the tab signs out. */
export function loadCredentials(): Credentials | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null') as Credentials | null;
    return value?.apiKey && value.apiSecret ? value : null;
  } catch {
    return null;
  }
}

export function saveCredentials(creds: Credentials | null): void {
  if (creds) sessionStorage.setItem(storageKey, JSON.stringify(creds));
  else sessionStorage.removeItem(storageKey);
}

/** Sent requests are signed with the browser's clock corrected by the server's Date header after a -16. */
let clockSkewMs = 0;

export async function signedFetch(
  creds: Credentials,
  path: string,
  options: { body?: unknown; method?: 'GET' | 'POST'; signal?: AbortSignal } = {},
): Promise<Response> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const text = options.body === undefined ? '' : JSON.stringify(options.body);
  const send = () =>
    fetch(path, {
      method,
      headers: {
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...signedHeaders(creds, method, path, text, Date.now() + clockSkewMs),
      },
      ...(method === 'POST' ? { body: text } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const response = await send();
  if (response.headers.get('content-type')?.startsWith('application/json')) {
    const copy = response.clone();
    const envelope = (await copy.json()) as Envelope<unknown>;
    const serverDate = Date.parse(response.headers.get('date') ?? '');
    if (envelope.status === '-16' && Number.isFinite(serverDate)) {
      clockSkewMs = serverDate - Date.now();
      return send();
    }
  }
  return response;
}

export class Api {
  constructor(readonly creds: Credentials) {}

  async call<T>(path: string, body?: unknown): Promise<T> {
    const response = await signedFetch(this.creds, `/v3${path}`, body === undefined ? {} : { body });
    const envelope = (await response.json()) as Envelope<T>;
    if (envelope.status !== '0') throw new ApiFailure(envelope.status, envelope.reason);
    return envelope.data;
  }

  /** For endpoints answering a file (audio, CSV): the body as a Blob, or the envelope's error. */
  async blob(path: string, body?: unknown): Promise<Blob> {
    const response = await signedFetch(this.creds, `/v3${path}`, body === undefined ? {} : { body });
    if (response.headers.get('content-type')?.startsWith('application/json')) {
      const envelope = (await response.json()) as Envelope<unknown>;
      throw new ApiFailure(envelope.status, envelope.reason);
    }
    return response.blob();
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
