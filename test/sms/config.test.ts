import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createSmsTransport } from '../../src/sms/index.ts';

const smsConfigFromEnv = (env: Record<string, string>) => loadConfig(env).sms;

import { LogTransport } from '../../src/sms/log-transport.ts';
import type { SmsLogger } from '../../src/sms/logger.ts';
import type { DeliveryReceipt } from '../../src/sms/transport.ts';

describe('smsConfigFromEnv', () => {
  it('defaults to the log driver when SMS_DRIVER is unset', () => {
    expect(smsConfigFromEnv({})).toEqual({ kind: 'log' });
  });

  it('reads the HTTP driver settings', () => {
    expect(
      smsConfigFromEnv({
        SMS_DRIVER: 'http',
        SMS_HTTP_URL: 'http://gw/sms',
        SMS_HTTP_TOKEN: 't',
        SMS_HTTP_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ kind: 'http', url: 'http://gw/sms', token: 't', timeoutMs: 5000 });
  });

  it('reads the SMPP driver settings with defaults for the optional ones', () => {
    expect(
      smsConfigFromEnv({
        SMS_DRIVER: 'smpp',
        SMPP_HOST: 'smsc.example',
        SMPP_SYSTEM_ID: 'ringcast',
        SMPP_PASSWORD: 'pw',
      }),
    ).toEqual({
      kind: 'smpp',
      host: 'smsc.example',
      port: 2775,
      systemId: 'ringcast',
      password: 'pw',
      systemType: undefined,
      bindMode: 'transceiver',
      sourceTon: undefined,
      sourceNpi: undefined,
      destTon: 1,
      destNpi: 1,
      defaultSource: undefined,
      throughputPerSecond: undefined,
      enquireLinkMs: 30_000,
      responseTimeoutMs: 10_000,
      connectTimeoutMs: 10_000,
    });
  });

  it('reads explicit SMPP port, bind mode, TON/NPI and throughput', () => {
    const config = smsConfigFromEnv({
      SMS_DRIVER: 'smpp',
      SMPP_HOST: 'h',
      SMPP_PORT: '2776',
      SMPP_SYSTEM_ID: 's',
      SMPP_BIND_MODE: 'transmitter',
      SMPP_SOURCE_TON: '5',
      SMPP_SOURCE_NPI: '0',
      SMPP_THROUGHPUT: '30',
      SMPP_ENQUIRE_LINK_MS: '15000',
    });
    expect(config).toMatchObject({
      port: 2776,
      bindMode: 'transmitter',
      sourceTon: 5,
      sourceNpi: 0,
      throughputPerSecond: 30,
      enquireLinkMs: 15_000,
    });
  });

  it('a missing required setting or a malformed number fails at start-up', () => {
    expect(() => smsConfigFromEnv({ SMS_DRIVER: 'http' })).toThrow(/SMS_HTTP_URL/);
    expect(() => smsConfigFromEnv({ SMS_DRIVER: 'smpp', SMPP_SYSTEM_ID: 's' })).toThrow(/SMPP_HOST/);
    expect(() =>
      smsConfigFromEnv({ SMS_DRIVER: 'smpp', SMPP_HOST: 'h', SMPP_SYSTEM_ID: 's', SMPP_PORT: 'x' }),
    ).toThrow(/SMPP_PORT/);
    expect(() =>
      smsConfigFromEnv({
        SMS_DRIVER: 'smpp',
        SMPP_HOST: 'h',
        SMPP_SYSTEM_ID: 's',
        SMPP_BIND_MODE: 'receiver',
      }),
    ).toThrow(/SMPP_BIND_MODE/);
    expect(() => smsConfigFromEnv({ SMS_DRIVER: 'carrier-pigeon' })).toThrow(/SMS_DRIVER/);
  });
});

describe('createSmsTransport', () => {
  it('builds the transport named by the config kind', async () => {
    const log = createSmsTransport({ kind: 'log' });
    const http = createSmsTransport({ kind: 'http', url: 'http://127.0.0.1:9/' });
    const smpp = createSmsTransport({
      kind: 'smpp',
      host: '127.0.0.1',
      port: 9,
      systemId: 's',
      password: 'p',
      bindMode: 'transceiver',
      enquireLinkMs: 0,
    });
    expect([log.name, http.name, smpp.name]).toEqual(['log', 'http', 'smpp']);
    await Promise.all([log.close(), http.close(), smpp.close()]);
  });
});

describe('log transport', () => {
  it('logs each message through the given logger and reports immediate delivery', async () => {
    const lines: { obj: object; msg?: string }[] = [];
    const bodies: object[] = [];
    const logger: SmsLogger = {
      info: (obj, msg) => lines.push({ obj, msg }),
      warn: () => {},
      debug: (obj) => bodies.push(obj),
    };
    const t = new LogTransport(logger);
    const receipts: DeliveryReceipt[] = [];
    t.onReceipt((r) => receipts.push(r));
    const result = await t.send({ id: 'o1', to: '4915112345678', from: 'Ringcast', text: 'Grüße 👋' });
    expect(result).toEqual({ providerMessageIds: ['log-o1'], segments: 1 });
    expect(lines[0]?.obj).toMatchObject({
      sms: { id: 'o1', chars: 'Grüße 👋'.length },
      encoding: 'ucs2',
      segments: 1,
    });
    // The body itself never at info; at debug only.
    expect(JSON.stringify(lines)).not.toContain('Grüße');
    expect(bodies).toEqual([{ sms: { id: 'o1', text: 'Grüße 👋' } }]);
    // The receipt comes after send() resolved, never synchronously inside it.
    expect(receipts).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(receipts).toEqual([{ providerMessageId: 'log-o1', delivered: true, status: 'DELIVRD' }]);
    await t.close();
  });

  it('accepts a pino logger', async () => {
    const { pino } = await import('pino');
    const t = new LogTransport(pino({ level: 'silent' }));
    expect((await t.send({ id: 'o2', to: '1', from: '', text: 'x' })).segments).toBe(1);
  });
});
