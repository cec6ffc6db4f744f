/**
 * `npm run bench -- soak`: one `fogline edge` process (embedded broker on 127.0.0.1, answering every
 * request itself) under many lean MQTT devices (soak/load.ts) for minutes; flags and targets in HELP.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFoglineProcess } from '@fogline/cli/testing';
import { DEFAULT_MODEL_PATH } from '@fogline/device-sdk';
import { DeviceListCache } from '@fogline/edge-agent';
import { hashSecret } from '@fogline/shared/secrets';
import { runChild } from './lib/child.ts';
import { numberFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';
import type { SoakLoadResult, SoakPlan } from './soak/load.ts';

export const HELP = `usage: npm run bench -- soak [flags]: one \`fogline edge\` on 127.0.0.1 under many devices
  --devices <n>         lean devices (MQTT frames, no model), a connection each (default 1000)
  --sdk-devices <n>     real SDK devices (device model, escalation) beside them (default 3)
  --minutes <n>         length of the run once all devices are connected, warm-up included (default 10)
  --rate <n>            requests per second per device (default 0.5)
  --deadline-ms <n>     deadline_ms of each request (default 2000)
  --warmup-seconds <n>  left out of RSS growth and latency totals (default 60)
  --sample-seconds <n>  sampling period (default 5)
Report: bench/reports/soak.{md,json}. Targets: 0 lost, edge RSS growth after warm-up < 10 %.`;

/** One sample: the load's (soak/load.ts) and the edge's RSS at that moment. */
type SampleKey = 't' | 'reqPerSec' | 'p50Ms' | 'p99Ms' | 'sent' | 'answered' | 'errors' | 'rssMb';
type Sample = Record<SampleKey, number>;

function settingsOf(args: readonly string[]) {
  const minutes = numberFlag(args, '--minutes', 10);
  const warmupSeconds = numberFlag(args, '--warmup-seconds', 60);
  if (warmupSeconds >= minutes * 60) throw new Error('--warmup-seconds must be shorter than --minutes');
  return {
    devices: numberFlag(args, '--devices', 1000),
    sdkDevices: numberFlag(args, '--sdk-devices', 3),
    minutes,
    ratePerSec: numberFlag(args, '--rate', 0.5),
    deadlineMs: numberFlag(args, '--deadline-ms', 2000),
    warmupSeconds,
    sampleSeconds: numberFlag(args, '--sample-seconds', 5),
  };
}

type Settings = ReturnType<typeof settingsOf>;
type Head = ReturnType<typeof reportHead>;

/** Resident set of process `pid` in MB (Linux /proc). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** The edge's device list cache, as if synced from the cloud: every device shares one hashed token. */
async function seedDevices(dataDir: string, count: number) {
  const token = `soak-token-${Math.random().toString(36).slice(2)}`;
  const tokenHash = await hashSecret(token);
  const devices = Array.from({ length: count }, (_, i) => ({ id: `soak-dev-${i}`, token }));
  const list = devices.map(({ id }) => ({ id, tokenHash }));
  await new DeviceListCache(dataDir).save({ version: 1, devices: list });
  return devices;
}

function markdown(r: ReturnType<typeof summary>) {
  const { load: l, rss } = r;
  const rows = r.samples.map(
    (s) => `${s.t} | ${s.reqPerSec} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${s.rssMb.toFixed(1)} | ${s.errors}`,
  );
  return `# Soak: ${r.settings.devices} + ${r.settings.sdkDevices} SDK devices on one edge for ${r.settings.minutes} min

\`${r.command}\` · ${machineLine(r.at, r.machine)}

One \`fogline edge\` process (embedded broker on 127.0.0.1, threshold 0: the edge answers every request);
lean MQTT devices (bench/load/mqtt.ts: real fogline frames, QoS 1) and ${r.settings.sdkDevices} real SDK devices in one load process, each sending
${r.settings.ratePerSec} req/s open loop, deadline_ms ${r.settings.deadlineMs}; the first ${r.settings.warmupSeconds} s are warm-up (out of RSS growth and latency totals).

${targetsTable(r.targets)}

Totals: ${l.sent} sent, ${l.answered} answered, ${l.explicitErrors} explicit errors ${JSON.stringify(l.errors)}, **${l.lost} lost**;
${l.reqPerSec} req/s answered; after warm-up p50 ${ms(l.latency.p50Ms)} ms, p99 ${ms(l.latency.p99Ms)} ms; ${l.disconnected} devices disconnected;
connecting them all took ${l.connectSeconds.toFixed(1)} s. Edge RSS: ${rss.atWarmupMb} MB at the end of warm-up, ${rss.endMb} MB
at the end (${rss.growthPct} %), peak after warm-up ${rss.peakMb} MB.

## Over time

${table('t (s) | req/s | p50 ms | p99 ms | edge RSS MB | errors so far', rows)}
`;
}

function summary(head: Head, settings: Settings, load: SoakLoadResult, samples: Sample[]) {
  const after = samples.filter((s) => s.t >= settings.warmupSeconds);
  const atWarmupMb = (after[0] ?? samples.at(-1))?.rssMb ?? Number.NaN;
  const endMb = samples.at(-1)?.rssMb ?? Number.NaN;
  const peakMb = Math.max(...after.map((s) => s.rssMb));
  const growthPct = round((100 * (endMb - atWarmupMb)) / atWarmupMb, 1);
  const targets = [
    target('lost requests', String(load.lost), '0', load.lost === 0),
    target('edge RSS growth after warm-up', `${growthPct} %`, '< 10 %', growthPct < 10),
  ];
  return { ...head, settings, load, rss: { atWarmupMb, endMb, peakMb, growthPct }, targets, samples };
}

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) return console.log(HELP);
  const settings = settingsOf(args);
  const { devices, sdkDevices, minutes, ratePerSec, deadlineMs, warmupSeconds, sampleSeconds } = settings;
  const dataDir = await mkdtemp(join(tmpdir(), 'fogline-soak-'));
  const credentials = await seedDevices(dataDir, devices + sdkDevices);
  const edge = await startFoglineProcess<{ mqtt: { port: number } }>(
    [
      ...['edge', '--id', 'soak-edge', '--cloud', 'http://127.0.0.1:1', '--device-list-poll-ms', '0'],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir, '--threshold', '0', '--quiet'],
    ],
    { env: { FOGLINE_EDGE_TOKEN: 'soak-edge-token' } },
  );
  const pid = edge.child.pid!;
  const samples: Sample[] = [];
  try {
    const plan: SoakPlan = {
      broker: `mqtt://127.0.0.1:${edge.ready.mqtt.port}`,
      edgeId: 'soak-edge',
      devices: credentials.slice(0, devices),
      sdk: { devices: credentials.slice(devices), model: DEFAULT_MODEL_PATH },
      deadlineMs,
      lostAfterMs: deadlineMs + 5000,
      ratePerSec,
      warmupMs: warmupSeconds * 1000,
      durationMs: minutes * 60_000,
      sampleMs: sampleSeconds * 1000,
    };
    const script = new URL('./soak/load.ts', import.meta.url);
    const load = await runChild<SoakLoadResult>(script, plan, (line) => {
      if (!line.startsWith('{"sample"')) return;
      const s: Sample = { ...JSON.parse(line).sample, rssMb: round(rssMb(pid), 1) };
      samples.push(s);
      console.log(
        `soak t=${s.t}s ${s.reqPerSec} req/s p99 ${ms(s.p99Ms)} ms rss ${s.rssMb} MB errors ${s.errors}`,
      );
    });
    const r = summary(reportHead('soak', args), settings, load, samples);
    writeReport('soak', r, markdown(r));
  } finally {
    await edge.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
