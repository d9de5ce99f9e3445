import { EventEmitter } from 'node:events';
import {
  isFailure,
  parseMessage,
  type SipMessage,
  type SipRequest,
} from '../../src/telephony/sip/message.ts';
import type { Remote, SipTransport, TransportEvents } from '../../src/telephony/sip/transport.ts';

/** In-memory transport recording what is sent, with the clock of the test (for timer tests). */
export class FakeTransport extends EventEmitter<TransportEvents> implements SipTransport {
  readonly protocol: 'UDP' | 'TCP';
  readonly reliable: boolean;
  readonly localHost = '127.0.0.1';
  readonly localPort = 5099;
  readonly sent: Array<{ message: SipMessage; at: number }> = [];
  failSends = false;

  constructor(reliable = false) {
    super();
    this.reliable = reliable;
    this.protocol = reliable ? 'TCP' : 'UDP';
  }

  send(message: SipMessage | Buffer, _remote: Remote, onError?: (error: Error) => void): void {
    // Failures are reported later, as a socket's are.
    if (this.failSends) {
      queueMicrotask(() => onError?.(new Error('unreachable')));
      return;
    }
    const parsed = Buffer.isBuffer(message) ? parseMessage(message) : message;
    if (isFailure(parsed)) throw new Error(`sent bytes did not parse: ${parsed.error}`);
    this.sent.push({ message: parsed, at: Date.now() });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function req(text: string): SipRequest {
  const m = parseMessage(Buffer.from(text.replace(/\n/g, '\r\n')));
  if (isFailure(m) || m.kind !== 'request')
    throw new Error(`test request did not parse: ${JSON.stringify(m)}`);
  return m;
}

export const INVITE_TEXT = `INVITE sip:100@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtest1;rport
Max-Forwards: 70
From: <sip:200@127.0.0.1>;tag=abc
To: <sip:100@127.0.0.1>
Call-ID: call-1@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:ringcast@127.0.0.1:5099>
Content-Type: application/sdp
Content-Length: 4

v=0
`;
