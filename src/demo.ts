/**
 * `npm run demo`: a demo account sends 1,000 numbers with a 3-round recall flow (failed callees only)
 * through the real API to the simulated carrier, on a sped-up clock, and shows each round's progress.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import pino from 'pino';
import { createRingcast, mediaFromConfig } from './app.ts';
import { loadConfig } from './config.ts';
import { createAccount } from './db/queries/accounts.ts';
import { flowOfOriginalTask, roundsProgress } from './db/queries/recall-flows.ts';
import { compatSign } from './domain/sign.ts';

export async function runDemo(options: { numbers: number; speed: number }): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ringcast-demo-'));
  const loaded = loadConfig();
  const config = {
    ...loaded,
    // The demo always runs on the simulated carrier, with its own throw-away PGlite folder.
    telephony: loadConfig({}).telephony,
    sms: loadConfig({}).sms,
    db: { ...loaded.db, databaseUrl: undefined, dataDir },
    engine: { ...loaded.engine, clockSpeed: options.speed, pollMs: 50 },
    server: { ...loaded.server, logLevel: 'warn' as const },
  };
  const ring = await createRingcast(config, {
    media: mediaFromConfig(config),
    log: pino({ level: 'warn' }),
  });
  ring.engine.start();
  const minutesPerSecond = options.speed / 60;
  console.log(
    `Ringcast demo — simulated carrier, accelerated clock: 1 real second = ${minutesPerSecond.toFixed(0)} minutes.\n` +
      `Sending ${options.numbers} numbers with a recall flow: 3 rounds, 60 minutes apart, failed callees only.\n`,
  );
  const { account, app } = await createAccount(
    ring.db,
    {
      name: 'demo',
      timeZone: 'UTC+8',
      ipAllowList: [],
      maxConcurrency: 30,
      callsPerSecond: 20,
      callbackUrl: null,
      requireHmac: false,
    },
    ring.clock.now(),
  );
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await ring.server.inject({
    method: 'POST',
    url: '/v3/voice/group/call/send',
    headers: {
      'content-type': 'application/json',
      'Api-Key': account.api_key,
      Timestamp: timestamp,
      Sign: compatSign(account.api_key, account.api_secret, timestamp),
    },
    payload: JSON.stringify({
      appId: app.id,
      taskName: 'Demo payment reminder',
      source: 3,
      text: 'Hello, this is a reminder that your payment is due. Press 1 to confirm.',
      lan: 'en',
      numberInfoList: Array.from({ length: options.numbers }, (_, i) => ({
        calleeNumber: `1555${String(i).padStart(7, '0')}`,
        text1: `Customer ${i + 1}`,
      })),
      recallFlow: { recallInterval: 60, recallNum: 3, recallType: 1 },
    }),
  });
  const sent = response.json() as { status: string; reason: string; data: number };
  if (sent.status !== '0') throw new Error(`send failed: ${sent.reason}`);
  const taskId = sent.data;

  const bars = new MultiBar(
    {
      format: ' {label} |{bar}| {value}/{total} dialled · {success} answered · {fail} failed · {state}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      notTTYSchedule: 2000,
    },
    Presets.shades_classic,
  );
  const roundBars = new Map<number, SingleBar>();
  const started = Date.now();
  const states = ['waiting', 'calling', 'finished', 'failed', 'cancelled', 'paused', 'submitting'];
  let flowStatus = 0;
  while (flowStatus !== 2 && flowStatus !== 4 && flowStatus !== 3) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const flow = await flowOfOriginalTask(ring.db, taskId);
    flowStatus = flow?.status ?? 0;
    const rounds = await roundsProgress(ring.db, { originalTaskId: taskId, flowId: flow?.id ?? null });
    for (const round of rounds) {
      const label = round.round === 0 ? 'original' : `round ${round.round}`;
      let bar = roundBars.get(round.round);
      const payload = {
        label: label.padEnd(8),
        success: round.success,
        fail: round.fail,
        state: states[round.status] ?? String(round.status),
      };
      if (!bar) {
        bar = bars.create(round.num_cnt, round.call_num, payload);
        roundBars.set(round.round, bar);
      }
      bar.update(round.call_num, payload);
    }
  }
  bars.stop();
  const flow = await flowOfOriginalTask(ring.db, taskId);
  const simulatedHours = ((Date.now() - started) * options.speed) / 3_600_000;
  console.log(
    `\nRecall flow ${flow?.status === 2 ? 'completed' : `ended with status ${flow?.status}`}: ` +
      `${flow?.finish_num}/${flow?.recall_num} rounds in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(${simulatedHours.toFixed(1)} simulated hours). Rounds with no failed callees complete with no task.`,
  );
  await ring.close();
  await rm(dataDir, { recursive: true, force: true });
}
