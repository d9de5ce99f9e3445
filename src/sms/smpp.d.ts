/**
 * Types for the parts of the untyped `smpp` package (v0.5) that Ringcast uses. PDU fields vary per
 * command, so they are `unknown` and read through checked accessors in smpp-transport.ts.
 */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  export type PduOptions = Record<string, unknown>;
  export type PduCallback = (pdu: PDU) => void;

  /** short_message after the library's decode filter: UDH split into its IEs, text decoded by data_coding. */
  export interface DecodedShortMessage {
    udh?: Buffer[];
    message: string | Buffer;
  }

  export class PDU {
    constructor(command: string, options?: PduOptions);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: PduOptions): PDU;
  }

  export interface ConnectOptions {
    host?: string;
    port?: number;
    url?: string;
    tls?: boolean;
    auto_enquire_link_period?: number;
  }

  export class Session extends EventEmitter {
    readonly socket: Socket;
    server?: Server;
    /** Returns false (and sends nothing) when the socket is no longer writable. */
    send(pdu: PDU, responseCallback?: PduCallback, sendCallback?: PduCallback): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    deliver_sm(options: PduOptions, responseCallback?: PduCallback): boolean;
  }

  export class Server extends NetServer {
    sessions: Session[];
  }

  interface Smpp {
    connect(options: ConnectOptions, listener?: () => void): Session;
    createServer(listener: (session: Session) => void): Server;
    PDU: typeof PDU;
    errors: Record<string, number>;
  }

  const smpp: Smpp;
  export default smpp;
}
