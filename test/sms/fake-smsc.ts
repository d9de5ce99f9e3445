import type { AddressInfo } from 'node:net';
import type { PDU, Server, Session } from 'smpp';
import smpp from 'smpp';
import { createSmsTransport } from '../../src/sms/index.ts';
import { silentLogger } from '../../src/sms/logger.ts';
import type { SmsTransport } from '../../src/sms/transport.ts';

/** One submit_sm as the SMSC decoded it with the `smpp` library's own filters. */
export interface ReceivedSubmit {
  messageId: string;
  destination: string;
  source: string;
  sourceTon: number;
  esmClass: number;
  dataCoding: number;
  registeredDelivery: number;
  /** Text as the library decoded it for this data_coding. */
  text: string;
  /** Concatenation IE (0x00) when present. */
  concat?: { reference: number; total: number; seq: number };
}

/**
 * A small SMSC built on the `smpp` package's server, on 127.0.0.1 with an ephemeral port. Tests steer
 * its answers with `respond` and push receipts with `sendReceipt`.
 */
export class FakeSmsc {
  readonly submits: ReceivedSubmit[] = [];
  readonly binds: { command: string; systemId: string; accepted: boolean }[] = [];
  /** Decides submit_sm_resp's command_status; 0 = accepted. */
  respond: (submit: ReceivedSubmit) => number = () => 0;
  receiptAcks = 0;
  private server: Server | undefined;
  private counter = 0;
  port = 0;

  constructor(
    private readonly systemId = 'ringcast',
    private readonly password = 'secret',
  ) {}

  async start(port = 0): Promise<void> {
    const server = smpp.createServer((session) => this.onSession(session));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Simulates an SMSC crash: every connection is cut and the port stops listening. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of [...server.sessions]) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get sessions(): Session[] {
    return this.server?.sessions ?? [];
  }

  /** Sends a delivery receipt in the SMPP appendix B text format, plus the TLVs when asked. */
  sendReceipt(messageId: string, stat: string, opts: { tlv?: boolean; textId?: string } = {}): void {
    const session = this.sessions[0];
    if (!session) throw new Error('no bound session to deliver the receipt on');
    const text =
      `id:${opts.textId ?? messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:2611252300 done date:2611252301 stat:${stat} err:000 text:`;
    session.deliver_sm(
      {
        source_addr: '4915112345678',
        destination_addr: 'Ringcast',
        esm_class: 0x04,
        short_message: text,
        ...(opts.tlv ? { receipted_message_id: messageId, message_state: stat === 'DELIVRD' ? 2 : 5 } : {}),
      },
      () => {
        this.receiptAcks++;
      },
    );
  }

  private onSession(session: Session): void {
    session.on('error', () => {});
    for (const command of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
      session.on(command, (pdu: PDU) => {
        const accepted = pdu.system_id === this.systemId && pdu.password === this.password;
        this.binds.push({ command, systemId: String(pdu.system_id), accepted });
        session.send(pdu.response({ command_status: accepted ? 0 : smpp.errors.ESME_RINVPASWD! }));
        if (!accepted) session.close();
      });
    }
    session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: PDU) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu: PDU) => {
      const sm = pdu.short_message as { udh?: Buffer[]; message: string | Buffer };
      const ie = sm.udh?.find((u) => u[0] === 0x00);
      const submit: ReceivedSubmit = {
        messageId: `M${++this.counter}`,
        destination: String(pdu.destination_addr),
        source: String(pdu.source_addr),
        sourceTon: Number(pdu.source_addr_ton),
        esmClass: Number(pdu.esm_class),
        dataCoding: Number(pdu.data_coding),
        registeredDelivery: Number(pdu.registered_delivery),
        text: typeof sm.message === 'string' ? sm.message : sm.message.toString('latin1'),
        concat: ie ? { reference: ie[2]!, total: ie[3]!, seq: ie[4]! } : undefined,
      };
      const status = this.respond(submit);
      if (status === 0) this.submits.push(submit);
      session.send(
        status === 0
          ? pdu.response({ message_id: submit.messageId })
          : pdu.response({ command_status: status }),
      );
    });
  }
}

/** Joins the parts of one concatenated message in sequence order. */
export function reassemble(parts: ReceivedSubmit[]): string {
  return [...parts]
    .sort((a, b) => (a.concat?.seq ?? 0) - (b.concat?.seq ?? 0))
    .map((p) => p.text)
    .join('');
}

/** Our SMPP transport, bound to `smsc` with the credentials it accepts by default. */
export function transportTo(smsc: FakeSmsc): SmsTransport {
  return createSmsTransport(
    {
      kind: 'smpp',
      host: '127.0.0.1',
      port: smsc.port,
      systemId: 'ringcast',
      password: 'secret',
      bindMode: 'transceiver',
      destTon: 1,
      destNpi: 1,
      enquireLinkMs: 5000,
      responseTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    },
    silentLogger,
  );
}
