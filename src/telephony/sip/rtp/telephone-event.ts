/**
 * RFC 4733 telephone-event receiver. An event is identified by its RTP timestamp (§2.5.1.1: every packet of
 * one event carries the event's start timestamp); the end bit is sent three times (§2.5.1.4), so a digit is
 * reported once, when its first end packet arrives, and later packets with that timestamp are ignored.
 * If every end packet is lost, the digit is reported when the next event begins.
 */

const EVENT_CHARS = '0123456789*#';

export interface DecodedEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

export function parseTelephoneEvent(payload: Uint8Array): DecodedEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export class TelephoneEventDecoder {
  /** Events already reported, by `ssrc:timestamp`; bounded. */
  private readonly done: string[] = [];
  private open: { key: string; event: number } | undefined;

  constructor(private readonly onDigit: (digit: string) => void) {}

  /** Feeds one telephone-event payload with its RTP header fields. Never throws. */
  push(payload: Uint8Array, timestamp: number, ssrc: number): void {
    const ev = parseTelephoneEvent(payload);
    if (!ev || ev.event >= EVENT_CHARS.length) return;
    const key = `${ssrc}:${timestamp}`;
    if (this.done.includes(key)) return;
    if (this.open && this.open.key !== key) this.finish(this.open.key, this.open.event);
    if (ev.end) this.finish(key, ev.event);
    else this.open = { key, event: ev.event };
  }

  private finish(key: string, event: number): void {
    if (this.open?.key === key) this.open = undefined;
    this.done.push(key);
    if (this.done.length > 32) this.done.shift();
    this.onDigit(EVENT_CHARS[event]!);
  }
}
