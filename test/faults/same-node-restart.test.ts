/**
 * A process killed with SIGKILL and restarted under the same NODE_ID (a documented setting) must not take
 * the dead run's leases for its own: its attempts are settled as interrupted within one lease of the
 * restart, and the account dials on. The first start also creates the default account in the host's zone.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/db.ts';
import { usingPostgres } from '../helpers/harness.ts';
import { httpApi, type ServiceProcessKit, serviceProcessKit, until } from '../helpers/service-process.ts';

describe('restart under the same NODE_ID after SIGKILL', () => {
  let kit: ServiceProcessKit | undefined;
  afterAll(async () => kit?.cleanup());

  it("settles the dead run's calls within one lease, and the account goes on dialling", async () => {
    const leaseMs = 2_000;
    kit = await serviceProcessKit({
      NODE_ID: 'node-a',
      LEASE_MS: String(leaseMs),
      POLL_MS: '20',
      // Every call rings until its 20 s ring timeout: the first 30 fill the default account.
      SIM_RATES: 'answer=0,busy=0,no-answer=1,voicemail=0,unavailable=0,invalid=0',
      SHUTDOWN_GRACE_MS: '500',
    });
    let output = '';
    kit.start((text) => {
      output += text;
    });
    const banner = await until(
      'first-start banner',
      async () => output.includes('Ringcast listening') && /first start: .*— (\{.*\})/.exec(output),
      60_000,
    );
    const hostZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(output).toContain(`in time zone ${hostZone}`);
    const first = JSON.parse(banner[1]!) as { apiKey: string; apiSecret: string; appId: number };
    const api = httpApi(kit.port, first);
    const sent = await api<number>('/voice/group/call/send', {
      appId: first.appId,
      taskName: 'same node',
      source: 3,
      lan: 'en',
      text: 'hello',
      maxRingingTime: 20,
      numberList: Array.from({ length: 40 }, (_, i) => `44304${String(i).padStart(6, '0')}`),
    });
    expect(sent?.status).toBe('0');
    // The account is full (concurrency 30 would be the default; the sim keeps every call ringing).
    await until('the account at its concurrency', async () => {
      const detail = await api<{ waitReason: string | null; status: number }>(
        `/voice/group/call/detail/${sent!.data}`,
      );
      return detail?.data?.waitReason === 'concurrency';
    });
    // PGlite is one process's database: it is read only while the service is down.
    const inFlight = async () => {
      const db = await openDb(
        usingPostgres ? { databaseUrl: kit!.env.DATABASE_URL! } : { dataDir: kit!.env.DATA_DIR! },
      );
      try {
        return await db.query<{ id: number; lease_owner: string }>(
          "SELECT id, lease_owner FROM calls WHERE state = 'dialling' ORDER BY id",
        );
      } finally {
        await db.close();
      }
    };
    await kit.stop('SIGKILL');
    const dead = await inFlight();
    expect(dead.length).toBe(30);
    expect(new Set(dead.map((row) => row.lease_owner)).size).toBe(1);
    expect(dead[0]!.lease_owner.startsWith('node-a/')).toBe(true);

    kit.start();
    await until(
      'restarted',
      async () => (await api('/voice/group/call/query', { current: 1, size: 1 }))?.status === '0',
    );
    const restartedAt = Date.now();
    const records = await until('the dead run’s calls settled as interrupted', async () => {
      const page = await api<{ records: Array<{ voiceId: number; terminationReason: string }> }>(
        '/voice/recordGroupQuery',
        {
          current: 1,
          size: 100,
          params: {
            strTime: new Date(Date.now() - 86_400_000).toISOString(),
            endTime: new Date(Date.now() + 86_400_000).toISOString(),
            taskId: sent!.data,
          },
        },
      );
      const byId = new Map((page?.data?.records ?? []).map((r) => [r.voiceId, r.terminationReason]));
      return dead.every((row) => byId.get(row.id) === 'interrupted') ? byId : null;
    });
    const settledAfterMs = Date.now() - restartedAt;
    console.info(
      `same NODE_ID restart: the dead run's 30 calls settled ${settledAfterMs} ms after the restart`,
    );
    expect(settledAfterMs).toBeLessThan(leaseMs + 3_000);
    // Only the dead run's calls were written off, none of the new run's (they are still ringing).
    expect([...records.values()]).toEqual(Array(30).fill('interrupted'));
    // The account dials on: the next callees are leased by the new run.
    await kit.stop('SIGTERM');
    const after = await inFlight();
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((row) => !dead.some((d) => d.id === row.id))).toBe(true);
    expect(
      after.every((row) => row.lease_owner.startsWith('node-a/') && row.lease_owner !== dead[0]!.lease_owner),
    ).toBe(true);
  }, 120_000);
});

describe('graceful shutdown with 500 calls in flight', () => {
  let kit: ServiceProcessKit | undefined;
  afterAll(async () => kit?.cleanup());

  it('SIGTERM: exits within SHUTDOWN_GRACE_MS + 1 s; the calls left are settled as interrupted, none re-dialled', async () => {
    const graceMs = 3_000;
    const dialLog = join(tmpdir(), `ringcast-dials-${process.pid}-${Date.now()}.log`);
    kit = await serviceProcessKit({
      LEASE_MS: '2000',
      POLL_MS: '20',
      MAX_CALLS_PER_NODE: '500',
      // Every call rings until its 60 s ring timeout: all 500 are still in flight at SIGTERM.
      SIM_RATES: 'answer=0,busy=0,no-answer=1,voicemail=0,unavailable=0,invalid=0',
      SIM_DIAL_LOG: dialLog,
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const account = JSON.parse(
      kit.cli(['account', 'create', '--name', 'bulk', '--max-concurrency', '500', '--cps', '1000']),
    ) as { apiKey: string; apiSecret: string; appId: number };
    let output = '';
    const child = kit.start((text) => {
      output += text;
    });
    await until('service up', async () => output.includes('Ringcast listening'), 90_000);
    const api = httpApi(kit.port, account);
    const sent = await api<number>('/voice/group/call/send', {
      appId: account.appId,
      taskName: 'shutdown',
      source: 3,
      lan: 'en',
      text: 'hello',
      maxRingingTime: 60,
      numberList: Array.from({ length: 500 }, (_, i) => `44305${String(i).padStart(6, '0')}`),
    });
    expect(sent?.status).toBe('0');
    const inFlight = async () => {
      const text = await (await fetch(`http://127.0.0.1:${kit!.port}/metrics`)).text();
      return Number(/^ringcast_calls_in_flight (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    await until('500 calls in flight', async () => (await inFlight()) === 500, 90_000);

    const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(performance.now())));
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    const tookMs = (await exited) - signalledAt;
    console.info(
      `SIGTERM with 500 calls in flight: exited after ${Math.round(tookMs)} ms (grace ${graceMs} ms)`,
    );
    expect(tookMs).toBeLessThan(graceMs + 1_000);
    expect(output).toMatch(/SIGTERM: finishing calls in flight for up to 3000 ms/);

    // The next start settles what was left as interrupted once its lease expired, and dials none again.
    kit.start();
    const records = await until(
      'every call settled',
      async () => {
        const detail = await api<{ status: number; callNum: number }>(
          `/voice/group/call/detail/${sent!.data}`,
        );
        return detail?.data?.status === 2 ? detail.data : null;
      },
      60_000,
    );
    expect(records.callNum).toBe(500);
    await kit.stop('SIGTERM');
    const dials = readFileSync(dialLog, 'utf8').trim().split('\n');
    rmSync(dialLog, { force: true });
    const numbersDialled = dials.map((line) => line.split(' ')[1]);
    expect(numbersDialled.length).toBe(500);
    expect(new Set(numbersDialled).size).toBe(500);
  }, 240_000);
});
