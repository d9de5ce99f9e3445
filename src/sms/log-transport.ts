import { chooseEncoding, countSegments } from './encoding.ts';
import { consoleLogger, type SmsLogger } from './logger.ts';
import type { ReceiptHandler, SmsMessage, SmsSendResult, SmsTransport } from './transport.ts';

/**
 * The embedded default: writes each SMS to the log and reports it delivered, so a fresh install (and
 * the demo) exercises the whole outbox path without a carrier.
 */
export class LogTransport implements SmsTransport {
  readonly name = 'log';
  private readonly handlers: ReceiptHandler[] = [];
  private closed = false;

  constructor(private readonly logger: SmsLogger = consoleLogger) {}

  async send(message: SmsMessage): Promise<SmsSendResult> {
    const segments = countSegments(message.text);
    const providerMessageId = `log-${message.id}`;
    // The body may carry personal data: its length at info, the text itself only at debug.
    this.logger.debug?.({ sms: { id: message.id, text: message.text } }, 'sms body');
    this.logger.info(
      {
        sms: { id: message.id, to: message.to, from: message.from, chars: message.text.length },
        encoding: chooseEncoding(message.text),
        segments,
        providerMessageId,
      },
      'sms (log driver, not sent to a carrier)',
    );
    // The receipt follows the send's resolution, as with a carrier, so the caller has the id first.
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of this.handlers) handler({ providerMessageId, delivered: true, status: 'DELIVRD' });
    });
    return { providerMessageIds: [providerMessageId], segments };
  }

  onReceipt(handler: ReceiptHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
