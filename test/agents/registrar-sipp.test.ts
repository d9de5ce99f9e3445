import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/db.ts';
import type { SeatGroupRow, SipAccountRow } from '../../src/db/queries/agents.ts';
import { claimAgent, findSipAccount, registrationStore } from '../../src/db/queries/agents.ts';
import { Registrar } from '../../src/telephony/sip/registrar.ts';
import { UdpTransport } from '../../src/telephony/sip/transport.ts';
import { seatGroupDb } from '../helpers/harness.ts';
import { hasTool } from '../helpers/tools.ts';
import { runSipp, waitForPort } from '../sip/sipp.ts';

// SIPp sends REGISTER to the registrar; scenarios in test/agents/scenarios are named for their outcome.
// Ports 30000-31999 only.
describe.skipIf(!hasTool('sipp'))('SIP registrar with SIPp as the agent softphone (UDP)', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let group: SeatGroupRow;
  let agents: SipAccountRow[];
  const clock = new ScaledClock(1);
  let transport: UdpTransport;
  const REGISTRAR_PORT = 30010;
  let block = 0;

  beforeAll(async () => {
    ({ db, drop, group, agents } = await seatGroupDb('sipp-registrar', clock.now()));
    transport = await UdpTransport.open({ localHost: '127.0.0.1', localPort: REGISTRAR_PORT });
    new Registrar(transport, registrationStore(db), clock);
  });
  afterAll(async () => {
    await transport?.close();
    await drop?.();
  });

  const sipp = async (scenario: string, agent: SipAccountRow, password = agent.password) => {
    const base = 30100 + block++ * 20;
    const run = runSipp({
      scenario: `../../agents/scenarios/${scenario}`,
      sipPort: base,
      mediaPort: base + 4,
      controlPort: base + 9,
      remote: `127.0.0.1:${REGISTRAR_PORT}`,
      extra: ['-s', agent.username, '-au', agent.username, '-ap', password],
      timeoutS: 15,
    });
    await waitForPort(base, 'udp').catch(() => undefined);
    const { code, output } = await run.done;
    return { code, output, port: base };
  };

  it('registers with digest (401 then 200): the binding is stored and the agent is offered calls', async () => {
    const agent = agents[4]!;
    const result = await sipp('uac-register-digest-expect-401-then-200', agent);
    expect(result.code, result.output).toBe(0);
    const row = (await findSipAccount(db, agent.username))!;
    expect(row.contact).toBe(`sip:${agent.username}@127.0.0.1:${result.port}`);
    expect(row.state).toBe('idle');
    expect(row.expires_at!.getTime() - clock.now()).toBeGreaterThan(50_000);
    await db.query("UPDATE sip_accounts SET expires_at = NULL, state = 'offline' WHERE id <> $1", [agent.id]);
    expect((await claimAgent(db, group.id, clock.now()))?.username).toBe(agent.username);
    await db.query("UPDATE sip_accounts SET state = 'idle' WHERE id = $1", [agent.id]);
    // 60 s later the binding has expired: never offered
    expect(await claimAgent(db, group.id, clock.now() + 61_000)).toBeNull();
  });

  it('a wrong password gets 401 again and the agent stays unregistered', async () => {
    const agent = agents[2]!;
    const result = await sipp('uac-register-bad-password-expect-401-twice', agent, 'not-the-password');
    expect(result.code, result.output).toBe(0);
    expect((await findSipAccount(db, agent.username))!.expires_at).toBeNull();
  });

  it('registers, then Expires 0 unregisters (200, 200): the agent is offline and never offered a call', async () => {
    const agent = agents[4]!;
    const result = await sipp('uac-register-then-expires-0-expect-200-200', agent);
    expect(result.code, result.output).toBe(0);
    expect((await findSipAccount(db, agent.username))!).toMatchObject({
      state: 'offline',
      expires_at: null,
    });
    expect(await claimAgent(db, group.id, clock.now())).toBeNull();
  });
});
