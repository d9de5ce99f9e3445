/**
 * A way to hand one SMS to a carrier. The outbox worker (src/sms/outbox.ts) owns retries and state;
 * a transport only sends and reports.
 */
export interface SmsMessage {
  /** Our outbox id; transports may use it as a client reference. */
  id: string;
  /** Digits with country code, no '+'. */
  to: string;
  /** senderId; empty = the route's default. */
  from: string;
  text: string;
  /** [ours] the configured route to send through (`smsAppId`); undefined = the default route. */
  route?: string;
}

export interface SmsSendResult {
  /** The carrier's message id(s) (one per segment when concatenated; first is the reference). */
  providerMessageIds: string[];
  segments: number;
}

export interface DeliveryReceipt {
  providerMessageId: string;
  delivered: boolean;
  /** Carrier's final state, e.g. 'DELIVRD', 'UNDELIV', 'EXPIRED'. */
  status: string;
}

/** Receives the delivery receipts a transport reports. */
export type ReceiptHandler = (receipt: DeliveryReceipt) => void;

/** A failed send: `retryable` false means the carrier rejected this message for good. */
export class SmsSendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SmsSendError';
  }
}

export interface SmsTransport {
  readonly name: string;
  send(message: SmsMessage): Promise<SmsSendResult>;
  /** Registers the receiver of delivery receipts (transports without receipts never call it). */
  onReceipt(handler: ReceiptHandler): void;
  close(): Promise<void>;
  /**
   * Connection state for readiness (transports with a connection): 'up' bound, 'idle' not yet asked to
   * connect (SMPP binds on the first send), 'down' the last attempt failed or the link dropped.
   */
  health?(): 'up' | 'idle' | 'down';
}
