/**
 * SIP driver benchmark, loopback only, bounded in calls and time (`npm run bench:sip`).
 *
 * 1. Call setups/s: INVITE → 180 → 200 → ACK → BYE → 200 against a SIPp UAS, closed loop with a fixed number
 *    of calls in flight (no failures expected); beside it SIPp's own UAC against a SIPp UAS, at the highest
 *    -r step that completes with no failed call.
 * 2. Concurrent RTP streams: K calls each playing G.711 for a few seconds to a SIPp UAS with -rtp_echo; we
 *    report CPU per stream-second, pacing lateness and echo delivery; beside it SIPp's uac_pcap playing the
 *    same number of concurrent streams (CPU of the SIPp process per stream-second).
 *
 * The machine is shared and noisy, so both sides are measured in the same run and printed as ratios.
 * Env: BENCH_SIP_CALLS (default 3000), BENCH_SIP_INFLIGHT (100), BENCH_SIP_STREAMS (comma list, "50,200").
 */
import { readFileSync } from 'node:fs';
import type { HangupCause, PreparedAudio } from '../src/telephony/driver.ts';
import { SipDriver } from '../src/telephony/sip/sip-driver.ts';
import { runSipp, waitForPort } from '../test/sip/sipp.ts';

const CALLS = Math.min(20_000, Number(process.env.BENCH_SIP_CALLS ?? 3_000));
const INFLIGHT = Math.min(500, Number(process.env.BENCH_SIP_INFLIGHT ?? 100));
const STREAMS = (process.env.BENCH_SIP_STREAMS ?? '50,200')
  .split(',')
  .map(Number)
  .filter((n) => n > 0 && n <= 400);
const PLAY_MS = 4_000;
const CLK_TCK = 100;

function cpuMsOfPid(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function ourSetups(port: number): Promise<{ cps: number; failures: number; elapsedMs: number }> {
  const uas = runSipp({
    builtin: 'uas',
    sipPort: port,
    mediaPort: port + 4,
    controlPort: port + 9,
    calls: CALLS,
  });
  await waitForPort(port, 'udp');
  const driver = new SipDriver({
    trunkHost: '127.0.0.1',
    trunkPort: port,
    transport: 'udp',
    localSipPort: port + 10,
    rtpPortRange: [27000, 28998],
  });
  await driver.ready();
  let started = 0;
  let failures = 0;
  const t0 = performance.now();
  const one = async (): Promise<void> => {
    const leg = driver.originateSip({ callId: `b${started}`, to: '100', from: '200', ringTimeoutMs: 10_000 });
    started++;
    const cause = await new Promise<HangupCause | undefined>((resolve) => {
      leg.once('answered', () => resolve(undefined));
      leg.once('hangup', resolve);
    });
    if (cause) failures++;
    else await leg.hangup();
  };
  const worker = async () => {
    while (started < CALLS) await one();
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const elapsedMs = performance.now() - t0;
  await driver.close();
  uas.stop();
  await uas.done;
  return { cps: (CALLS - failures) / (elapsedMs / 1000), failures, elapsedMs };
}

/**
 * SIPp's best failure-free rate: SIPp paces by -r, so it is stepped down from above the platform's measured
 * ceiling until a run of CALLS calls completes with no failed call.
 */
async function sippSetups(
  port: number,
): Promise<{ cps: number; rate: number; elapsedMs: number; tried: string[] }> {
  const tried: string[] = [];
  for (const [i, rate] of [4000, 3000, 2500, 2000, 1500, 1000].entries()) {
    const p = port + i * 20;
    const uas = runSipp({
      builtin: 'uas',
      sipPort: p,
      mediaPort: p + 4,
      controlPort: p + 9,
      calls: CALLS,
      timeoutS: 15,
    });
    await waitForPort(p, 'udp');
    const t0 = performance.now();
    const uac = runSipp({
      builtin: 'uac',
      sipPort: p + 10,
      mediaPort: p + 14,
      controlPort: p + 19,
      calls: CALLS,
      extra: ['-l', String(INFLIGHT), '-r', String(rate)],
      remote: `127.0.0.1:${p}`,
      // A failing step would otherwise wait out 32 s transaction timeouts.
      timeoutS: Math.ceil(CALLS / rate) + 5,
    });
    const { code } = await uac.done;
    const elapsedMs = performance.now() - t0;
    uas.stop();
    await uas.done;
    tried.push(`${rate}/s ${code === 0 ? 'ok' : 'failures'}`);
    if (code === 0) return { cps: CALLS / (elapsedMs / 1000), rate, elapsedMs, tried };
  }
  return { cps: Number.NaN, rate: 0, elapsedMs: 0, tried };
}

function tone(ms: number): PreparedAudio {
  const samples = new Int16Array(ms * 8);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return { key: `bench-tone-${ms}`, sampleRate: 8000, samples, durationMs: ms };
}

async function ourStreams(port: number, k: number) {
  const uas = runSipp({
    builtin: 'uas',
    sipPort: port,
    mediaPort: port + 4,
    controlPort: port + 9,
    calls: k,
    extra: ['-rtp_echo'],
  });
  await waitForPort(port, 'udp');
  const driver = new SipDriver({
    trunkHost: '127.0.0.1',
    trunkPort: port,
    transport: 'udp',
    rtpPortRange: [27000, 28998],
  });
  const legs = Array.from({ length: k }, (_, i) =>
    driver.originateSip({ callId: `s${i}`, to: '100', from: '200', ringTimeoutMs: 10_000 }),
  );
  await Promise.all(legs.map((l) => new Promise<void>((r) => l.once('answered', () => r()))));
  const audio = tone(PLAY_MS);
  driver.frameClock.maxLateMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(legs.map((l) => l.play(audio, 1)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 300));
  const sent = legs.reduce((a, l) => a + (l.rtpStats?.packetsSent ?? 0), 0);
  const echoed = legs.reduce((a, l) => a + (l.rtpStats?.packetsReceived ?? 0), 0);
  const maxLate = driver.frameClock.maxLateMs;
  await Promise.all(legs.map((l) => l.hangup()));
  await driver.close();
  uas.stop();
  await uas.done;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    cpuMsPerStreamSecond: cpuMs / ((k * PLAY_MS) / 1000),
    expected: (k * PLAY_MS) / 20,
    sent,
    echoed,
    maxLate,
    wallMs,
  };
}

async function sippStreams(port: number, k: number) {
  const uas = runSipp({
    builtin: 'uas',
    sipPort: port,
    mediaPort: port + 4,
    controlPort: port + 9,
    calls: k,
  });
  await waitForPort(port, 'udp');
  const uac = runSipp({
    builtin: 'uac_pcap',
    sipPort: port + 10,
    mediaPort: port + 14,
    controlPort: port + 19,
    calls: k,
    extra: ['-l', String(k), '-r', String(k)],
    remote: `127.0.0.1:${port}`,
  });
  // uac_pcap plays g711a.pcap (236 packets, 4.72 s) per call; sample the process CPU around the whole run.
  let last = 0;
  const pid = uac.process.pid ?? 0;
  const sampler = setInterval(() => {
    const v = cpuMsOfPid(pid);
    if (Number.isFinite(v)) last = v;
  }, 100);
  const { code } = await uac.done;
  clearInterval(sampler);
  uas.stop();
  await uas.done;
  return { cpuMsPerStreamSecond: last / (k * 4.72), failed: code !== 0 };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench:sip exceeded its 5-minute budget');
    process.exit(2);
  }, 300_000);
  console.log(
    `SIP benchmark (loopback): ${CALLS} calls, ${INFLIGHT} in flight; streams ${STREAMS.join(', ')}`,
  );

  const sipp = await sippSetups(25000);
  const ours = await ourSetups(26100);
  console.log('\nCall setups (INVITE/180/200/ACK/BYE/200), closed loop');
  console.log(
    `  SIPp uac → SIPp uas : ${fmt(sipp.cps)} calls/s  (${fmt(sipp.elapsedMs)} ms at -r ${sipp.rate}; steps: ${sipp.tried.join(', ')})`,
  );
  console.log(
    `  SipDriver → SIPp uas: ${fmt(ours.cps)} calls/s  (${fmt(ours.elapsedMs)} ms, ${ours.failures} failed)`,
  );
  console.log(`  ratio ours/SIPp     : ${fmt(ours.cps / sipp.cps, 2)}`);

  for (const [i, k] of STREAMS.entries()) {
    const base = 26200 + i * 100;
    const s = await sippStreams(base, k);
    const o = await ourStreams(base + 50, k);
    console.log(`\n${k} concurrent RTP streams (G.711, 20 ms packets)`);
    console.log(
      `  SIPp uac_pcap       : ${fmt(s.cpuMsPerStreamSecond, 2)} CPU ms per stream-second${s.failed ? ' (calls failed)' : ''}`,
    );
    console.log(
      `  SipDriver           : ${fmt(o.cpuMsPerStreamSecond, 2)} CPU ms per stream-second; sent ${o.sent}/${o.expected}, echoed ${o.echoed}, max tick lateness ${fmt(o.maxLate, 1)} ms, wall ${fmt(o.wallMs)} ms`,
    );
    console.log(`  ratio CPU ours/SIPp : ${fmt(o.cpuMsPerStreamSecond / s.cpuMsPerStreamSecond, 2)}`);
    // 1000 CPU ms per second is one core: a rough ceiling on streams per core at this load.
    console.log(
      `  streams per core    : ours ≈ ${fmt(1000 / o.cpuMsPerStreamSecond)}, SIPp ≈ ${fmt(1000 / s.cpuMsPerStreamSecond)}`,
    );
  }
  clearTimeout(deadline);
}

await main();
