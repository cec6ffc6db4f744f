/**
 * `npm run bench -- soak [--devices N] [--minutes N] [--rate N] [--deadline-ms N] [--sample-seconds N]
 *   [--warmup-seconds N]`: one `fogline edge` process (embedded broker on 127.0.0.1, answering every
 * request itself) under N lean MQTT devices each sending `--rate` requests per second, open loop, for
 * `--minutes`. Samples req/s, p50/p99 and the edge's RSS; the warm-up is left out of RSS growth and of
 * the latency totals. Targets: 0 lost requests, RSS growth after warm-up < 10 %.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startFoglineProcess } from '@fogline/cli/testing';
import { DeviceListCache } from '@fogline/edge-agent';
import { hashSecret } from '@fogline/shared/secrets';
import { childExecArgv } from './lib/child.ts';
import { numberFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';
import type { SoakLoadResult, SoakPlan } from './soak/load.ts';

const HELP = `usage: npm run bench -- soak [flags]

One \`fogline edge\` process on 127.0.0.1 under many devices for a long stretch.
  --devices <n>         devices, each its own MQTT connection (default 1000)
  --minutes <n>         length of the run, warm-up included (default 10)
  --rate <n>            requests per second per device (default 0.5)
  --deadline-ms <n>     deadline_ms of each request (default 2000)
  --warmup-seconds <n>  left out of RSS growth and latency totals (default 60)
  --sample-seconds <n>  sampling period (default 5)
Report: bench/reports/soak.{md,json}. Targets: 0 lost, edge RSS growth after warm-up < 10 %.`;

const EDGE_ID = 'soak-edge';

interface Settings {
  devices: number;
  minutes: number;
  ratePerSec: number;
  deadlineMs: number;
  warmupSeconds: number;
  sampleSeconds: number;
}

interface Sample {
  t: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  sent: number;
  answered: number;
  errors: number;
  rssMb: number;
}

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
  await new DeviceListCache(dataDir).save({
    version: 1,
    devices: devices.map(({ id }) => ({ id, tokenHash })),
  });
  return devices;
}

/** Runs the load child; `onSample` gets each sample line as it comes, the promise the totals. */
function runLoad(plan: SoakPlan, onSample: (s: Omit<Sample, 'rssMb'>) => void): Promise<SoakLoadResult> {
  const script = fileURLToPath(new URL('./soak/load.ts', import.meta.url));
  const child = spawn(process.execPath, [...childExecArgv(), script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let last = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{"sample"')) onSample(JSON.parse(line).sample);
    else if (line.startsWith('{')) last = line;
  });
  child.stdin.end(JSON.stringify(plan));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      if (code === 0 && last) resolve(JSON.parse(last) as SoakLoadResult);
      else reject(new Error(`soak load exited ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

function markdown(
  r: ReturnType<typeof summary>,
  samples: readonly Sample[],
  targets: ReturnType<typeof target>[],
) {
  const { load: l, rss } = r;
  const rows = samples.map(
    (s) => `${s.t} | ${s.reqPerSec} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${s.rssMb.toFixed(1)} | ${s.errors}`,
  );
  return `# Soak: ${r.settings.devices} devices on one edge for ${r.settings.minutes} min

\`${r.command}\` · ${machineLine(r.at, r.machine)}

One \`fogline edge\` process (embedded broker on 127.0.0.1, threshold 0: the edge answers every request)
and one load process of lean MQTT devices (bench/load/mqtt.ts: real fogline frames, QoS 1), each sending
${r.settings.ratePerSec} req/s open loop with deadline_ms ${r.settings.deadlineMs}. Warm-up: first
${r.settings.warmupSeconds} s (left out of RSS growth and of the latency totals).

${targetsTable(targets)}

Totals: ${l.sent} sent, ${l.answered} answered, ${l.explicitErrors} explicit errors ${JSON.stringify(l.errors)},
**${l.lost} lost**; ${l.reqPerSec} req/s answered; after warm-up p50 ${ms(l.latency.p50Ms)} ms, p99
${ms(l.latency.p99Ms)} ms; ${l.disconnected} devices disconnected; connecting all took ${l.connectSeconds} s.
Edge RSS: ${rss.atWarmupMb} MB at the end of warm-up, ${rss.endMb} MB at the end (${rss.growthPct} %),
peak after warm-up ${rss.peakMb} MB.

## Over time

${table('t (s) | req/s | p50 ms | p99 ms | edge RSS MB | errors so far', rows)}
`;
}

function summary(
  head: ReturnType<typeof reportHead>,
  settings: Settings,
  load: SoakLoadResult,
  samples: Sample[],
  warmupS: number,
) {
  const after = samples.filter((s) => s.t >= warmupS);
  const atWarmupMb = (after[0] ?? samples.at(-1))?.rssMb ?? Number.NaN;
  const endMb = samples.at(-1)?.rssMb ?? Number.NaN;
  const peakMb = Math.max(...after.map((s) => s.rssMb));
  const growthPct = round((100 * (endMb - atWarmupMb)) / atWarmupMb, 1);
  const rss = {
    atWarmupMb: round(atWarmupMb, 1),
    endMb: round(endMb, 1),
    peakMb: round(peakMb, 1),
    growthPct,
  };
  return { ...head, settings, load, rss, samples };
}

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) return console.log(HELP);
  const devices = numberFlag(args, '--devices', 1000);
  const minutes = numberFlag(args, '--minutes', 10);
  const ratePerSec = numberFlag(args, '--rate', 0.5);
  const deadlineMs = numberFlag(args, '--deadline-ms', 2000);
  const warmupSeconds = numberFlag(args, '--warmup-seconds', 60);
  const sampleSeconds = numberFlag(args, '--sample-seconds', 5);
  if (warmupSeconds >= minutes * 60) throw new Error('--warmup-seconds must be shorter than --minutes');
  const dataDir = await mkdtemp(join(tmpdir(), 'fogline-soak-'));
  const credentials = await seedDevices(dataDir, devices);
  const edge = await startFoglineProcess<{ mqtt: { port: number } }>(
    [
      ...['edge', '--id', EDGE_ID, '--cloud', 'http://127.0.0.1:1', '--device-list-poll-ms', '0'],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir, '--threshold', '0', '--quiet'],
    ],
    { env: { FOGLINE_EDGE_TOKEN: 'soak-edge-token' } },
  );
  const pid = edge.child.pid!;
  const samples: Sample[] = [];
  try {
    const plan: SoakPlan = {
      broker: `mqtt://127.0.0.1:${edge.ready.mqtt.port}`,
      edgeId: EDGE_ID,
      devices: credentials,
      deadlineMs,
      lostAfterMs: deadlineMs + 5000,
      ratePerSec,
      warmupMs: warmupSeconds * 1000,
      durationMs: minutes * 60_000,
      sampleMs: sampleSeconds * 1000,
    };
    const load = await runLoad(plan, (s) => {
      const sample = { ...s, rssMb: round(rssMb(pid), 1) };
      samples.push(sample);
      console.log(
        `soak t=${s.t}s ${s.reqPerSec} req/s p99 ${ms(s.p99Ms)} ms rss ${sample.rssMb} MB errors ${s.errors}`,
      );
    });
    const settings: Settings = { devices, minutes, ratePerSec, deadlineMs, warmupSeconds, sampleSeconds };
    const r = summary(reportHead('soak', args), settings, load, samples, warmupSeconds);
    const targets = [
      target('lost requests', String(load.lost), '0', load.lost === 0),
      target('edge RSS growth after warm-up', `${r.rss.growthPct} %`, '< 10 %', r.rss.growthPct < 10),
    ];
    writeReport('soak', { ...r, targets }, markdown(r, samples, targets));
  } finally {
    await edge.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
