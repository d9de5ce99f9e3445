/**
 * Named SMS routes ([ours] `smsAppId`, docs/sms.md): a task may send its hang-up SMS through a route the
 * operator configured (SMS_ROUTES) instead of the default one — a second SMSC, or an HTTP gateway for
 * one country. Each message goes to the transport its outbox row names; a route that is no longer
 * configured fails that message for good rather than sending it through another carrier.
 */
import { type ReceiptHandler, type SmsMessage, SmsSendError, type SmsTransport } from './transport.ts';

export class RoutedSmsTransport implements SmsTransport {
  readonly name = 'routed';

  constructor(
    private readonly defaultRoute: SmsTransport,
    private readonly routes: ReadonlyMap<string, SmsTransport>,
  ) {}

  /** The route ids a task may name in `smsAppId`. */
  get routeIds(): string[] {
    return [...this.routes.keys()].sort();
  }

  // The result is whichever route's; `implements SmsTransport` checks its type.
  async send(message: SmsMessage) {
    if (message.route === undefined) return this.defaultRoute.send(message);
    const transport = this.routes.get(message.route);
    if (!transport) throw new SmsSendError(`no SMS route "${message.route}" is configured`, false);
    return transport.send(message);
  }

  onReceipt(handler: ReceiptHandler): void {
    this.defaultRoute.onReceipt(handler);
    for (const transport of this.routes.values()) transport.onReceipt(handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.defaultRoute.close(), ...[...this.routes.values()].map((t) => t.close())]);
  }

  /** Down when any route is down (readiness names the SMSC links as one), up when any is bound. */
  health(): 'up' | 'idle' | 'down' {
    const states = [this.defaultRoute, ...this.routes.values()].map((t) => t.health?.() ?? 'idle');
    if (states.includes('down')) return 'down';
    return states.includes('up') ? 'up' : 'idle';
  }
}

/** The route ids of a transport: those of a routed one, none otherwise. */
export function smsRouteIds(transport: SmsTransport): string[] {
  return transport instanceof RoutedSmsTransport ? transport.routeIds : [];
}
