import { HttpTransport, type HttpTransportConfig } from './http-transport.ts';
import { LogTransport } from './log-transport.ts';
import { consoleLogger, type SmsLogger } from './logger.ts';
import { SmppTransport, type SmppTransportConfig } from './smpp-transport.ts';
import type { SmsTransport } from './transport.ts';

export { countSegments, encodeMessage } from './encoding.ts';
export { HttpTransport, type HttpTransportConfig } from './http-transport.ts';
export { LogTransport } from './log-transport.ts';
export type { SmsLogger } from './logger.ts';
export { SmppSendError, SmppTransport, type SmppTransportConfig } from './smpp-transport.ts';
export * from './transport.ts';

export type SmsConfig =
  | { kind: 'log' }
  | ({ kind: 'http' } & Omit<HttpTransportConfig, 'logger'>)
  | ({ kind: 'smpp' } & Omit<SmppTransportConfig, 'logger'>);

export function createSmsTransport(config: SmsConfig, logger: SmsLogger = consoleLogger): SmsTransport {
  switch (config.kind) {
    case 'log':
      return new LogTransport(logger);
    case 'http': {
      const { kind: _, ...http } = config;
      return new HttpTransport({ ...http, logger });
    }
    case 'smpp': {
      const { kind: _, ...smpp } = config;
      return new SmppTransport({ ...smpp, logger });
    }
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads the SMS route from the environment (see docs/sms.md). Throws on a missing or malformed value,
 * so a misconfigured carrier fails at start-up rather than on the first hang-up SMS.
 */
export function smsConfigFromEnv(env: Env = process.env): SmsConfig {
  const driver = (env.SMS_DRIVER ?? 'log').trim().toLowerCase();
  switch (driver) {
    case '':
    case 'log':
      return { kind: 'log' };
    case 'http':
      return {
        kind: 'http',
        url: required(env, 'SMS_HTTP_URL'),
        token: optional(env, 'SMS_HTTP_TOKEN'),
        timeoutMs: int(env, 'SMS_HTTP_TIMEOUT_MS', 10_000, 1),
      };
    case 'smpp': {
      const bindMode = (optional(env, 'SMPP_BIND_MODE') ?? 'transceiver').toLowerCase();
      if (bindMode !== 'transceiver' && bindMode !== 'transmitter')
        throw new Error(`SMPP_BIND_MODE must be 'transceiver' or 'transmitter', got '${bindMode}'`);
      return {
        kind: 'smpp',
        host: required(env, 'SMPP_HOST'),
        port: int(env, 'SMPP_PORT', 2775, 1, 65_535),
        systemId: required(env, 'SMPP_SYSTEM_ID'),
        password: env.SMPP_PASSWORD ?? '',
        systemType: optional(env, 'SMPP_SYSTEM_TYPE'),
        bindMode,
        sourceTon: intOrUndefined(env, 'SMPP_SOURCE_TON', 0, 6),
        sourceNpi: intOrUndefined(env, 'SMPP_SOURCE_NPI', 0, 18),
        destTon: int(env, 'SMPP_DEST_TON', 1, 0, 6),
        destNpi: int(env, 'SMPP_DEST_NPI', 1, 0, 18),
        defaultSource: optional(env, 'SMPP_DEFAULT_SOURCE'),
        throughputPerSecond: intOrUndefined(env, 'SMPP_THROUGHPUT', 1),
        enquireLinkMs: int(env, 'SMPP_ENQUIRE_LINK_MS', 30_000, 0),
        responseTimeoutMs: int(env, 'SMPP_RESPONSE_TIMEOUT_MS', 10_000, 1),
        connectTimeoutMs: int(env, 'SMPP_CONNECT_TIMEOUT_MS', 10_000, 1),
      };
    }
    default:
      throw new Error(`SMS_DRIVER must be 'log', 'http' or 'smpp', got '${driver}'`);
  }
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new Error(`${name} is required for SMS_DRIVER=${env.SMS_DRIVER}`);
  return value;
}

function intOrUndefined(
  env: Env,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got '${raw}'`);
  return value;
}

function int(env: Env, name: string, fallback: number, min: number, max?: number): number {
  return intOrUndefined(env, name, min, max) ?? fallback;
}
