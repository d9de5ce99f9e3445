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
