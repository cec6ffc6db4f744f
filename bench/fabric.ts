/**
 * `npm run bench -- fabric [--seconds N] [--deadline-ms N] [--cascade-concurrency N] [--throughput-rounds N] [--workers N]
 *   [--intra-op-threads N] [--device-model name] [--edge-model name] [--cloud-model name]
 *   [--only transport,throughput,cascade]`
 *
 * One run of the three tiers working together (issue F3 "Benchmarks"), all on 127.0.0.1:
 * 1. transport overhead: SDK devices (child process) → edge agent (embedded broker) → device, device
 *    forced to escalate, edge forced to answer; overhead = device-measured total − tiny-model time −
 *    the reply's `edge_ms`, at concurrency 1 and 64;
 * 2. edge throughput on the edge model (plain MQTT clients, concurrency 64, 256 and 512) against raw
 *    onnxruntime-node batched throughput of the same model with the edge's session settings;
 * 3. the cascade table on the test split: always-device / always-edge / always-cloud / fogline
 *    cascade measured on the real system (devices → edge → the real cloud gateway), the oracle router
 *    computed from offline predictions plus the measured per-sample latencies.
 * Models and routing policies come from the model repository (`threshold: null` → the uncalibrated
 * table), copied at start so a run sees one version of each; new models or calibrated thresholds are
 * picked up by the next run. Writes bench/reports/fabric.json and bench/reports/fabric.md.
 * Profiling: `node --cpu-prof --import tsx bench/run.ts fabric ...` profiles the edge side; with
 * `FOGLINE_BENCH_PROF=<dir>` the device process writes its own .cpuprofile files there too.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_PATH } from '@fogline/device-sdk';
import { AGENT_DEFAULTS } from '@fogline/edge-agent';
import { resolvePolicy } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR, loadModelRepository, type ModelEntry } from '@fogline/shared/model-repository';
import { defaultEdgeEngineSizing } from '@fogline/shared/runtime';
import { renderMarkdown } from './fabric-markdown.ts';
import { type Bench, runCascade, runThroughput, runTransport } from './fabric-phases.ts';
import { measureRaw } from './fabric-raw.ts';
import {
  type CascadeSection,
  evaluateTargets,
  type FabricReport,
  type ThroughputSection,
  type TransportRow,
} from './fabric-report.ts';
import { BENCH_PUBLISH_RATE, benchCredentials, snapshotModels, startBenchEdge } from './fabric-stack.ts';
import { round } from './fabric-stats.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const SECTIONS = ['transport', 'throughput', 'cascade'] as const;
type Section = (typeof SECTIONS)[number];

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

function numberFlag(args: string[], name: string, fallback: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${text}`);
  return n;
}

function describeModel(entry: ModelEntry) {
  return {
    name: entry.name,
    version: entry.latestVersion,
    sha256: createHash('sha256').update(readFileSync(entry.modelPath())).digest('hex').slice(0, 16),
    description: entry.config.description,
    routing: entry.config.routing,
    effectiveThreshold: resolvePolicy(entry.config.routing).threshold,
  };
}

export default async function run(args: string[] = []): Promise<void> {
  const began = performance.now();
  const loadStart = loadavg();
  const only = (flag(args, '--only') ?? SECTIONS.join(',')).split(',') as Section[];
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length > 0) throw new Error(`--only takes ${SECTIONS.join(',')}; got ${unknown.join(',')}`);
  const sizing = defaultEdgeEngineSizing();
  const names = {
    device: flag(args, '--device-model') ?? basename(dirname(dirname(DEFAULT_MODEL_PATH))),
    edge: flag(args, '--edge-model') ?? AGENT_DEFAULTS.model,
    cloud: flag(args, '--cloud-model') ?? AGENT_DEFAULTS.cloudModel,
  };
  const snapshot = await snapshotModels(DEFAULT_MODELS_DIR, Object.values(names));
  try {
    const repo = await loadModelRepository(snapshot.dir);
    const b: Bench = {
      entries: { device: repo.get(names.device), edge: repo.get(names.edge), cloud: repo.get(names.cloud) },
      modelsDir: snapshot.dir,
      credentials: await benchCredentials(64),
      seconds: numberFlag(args, '--seconds', 5),
      deadlineMs: numberFlag(args, '--deadline-ms', 1000),
      cascadeConcurrency: numberFlag(args, '--cascade-concurrency', 1),
      throughputRounds: numberFlag(args, '--throughput-rounds', 3),
      engine: {
        workers: numberFlag(args, '--workers', sizing.workers),
        intraOpThreads: numberFlag(args, '--intra-op-threads', sizing.intraOpThreads),
      },
      log: (m) => console.log(`[fabric ${((performance.now() - began) / 1000).toFixed(0)}s] ${m}`),
    };
    b.log(
      `models ${names.device} → ${names.edge} → ${names.cloud}; ${availableParallelism()} cores; edge ${b.engine.workers} worker(s) × ${b.engine.intraOpThreads} thread(s)`,
    );
    const raw = await measureRaw({
      modelPath: b.entries.edge.modelPath(),
      sessions: b.engine.workers,
      intraOpThreads: b.engine.intraOpThreads,
      images: loadDigits('test').images.slice(0, 64 * DIGIT_PIXELS),
      batches: [1, 2, 4, 8, 16, 32, 64],
      msPerBatch: Math.min(1500, (b.seconds * 1000) / 3),
    });
    b.log(
      `raw ${names.edge}: best ${raw.best.samplesPerSec.toFixed(0)} samples/s at batch ${raw.best.batch}; single p50 ${raw.single.p50Ms.toFixed(3)} ms`,
    );

    // The answering edge: threshold 0, no cloud — every request it gets, it answers itself.
    const edge = await startBenchEdge(b.credentials, {
      ...b.engine,
      modelsDir: b.modelsDir,
      model: names.edge,
      routingThreshold: 0,
    });
    let transport: TransportRow[] | undefined;
    let throughput: ThroughputSection | undefined;
    let cascade: CascadeSection | undefined;
    try {
      if (only.includes('transport')) transport = await runTransport(b, edge.broker, raw);
      if (only.includes('throughput')) throughput = await runThroughput(b, edge.broker, raw);
      if (only.includes('cascade')) cascade = await runCascade(b, edge.broker);
    } finally {
      await edge.stop();
    }

    const report: FabricReport = {
      at: new Date().toISOString(),
      command: `npm run bench -- fabric${args.length ? ` ${args.join(' ')}` : ''}`,
      durationSec: round((performance.now() - began) / 1000, 1),
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        loadavgStart: loadStart.map((v) => round(v, 2)),
        loadavgEnd: loadavg().map((v) => round(v, 2)),
      },
      models: {
        device: describeModel(b.entries.device),
        edge: describeModel(b.entries.edge),
        cloud: describeModel(b.entries.cloud),
      },
      settings: {
        seconds: b.seconds,
        deadlineMs: b.deadlineMs,
        cascadeConcurrency: b.cascadeConcurrency,
        throughputRounds: b.throughputRounds,
        edgeWorkers: b.engine.workers,
        edgeIntraOpThreads: b.engine.intraOpThreads,
        publishRate: BENCH_PUBLISH_RATE,
      },
      raw,
      transport,
      throughput,
      cascade,
    };
    const targets = evaluateTargets(report);
    const reports = join(here, 'reports');
    mkdirSync(reports, { recursive: true });
    // Six decimals are plenty for ms and ratios; thresholds are written as the configs hold them.
    const json = JSON.stringify(
      { ...report, targets },
      (key, value) => (typeof value === 'number' && !/threshold/i.test(key) ? round(value, 6) : value),
      2,
    );
    writeFileSync(join(reports, 'fabric.json'), `${json}\n`);
    const md = renderMarkdown(report, targets);
    writeFileSync(join(reports, 'fabric.md'), md);
    console.log(`\n${md}`);
  } finally {
    await snapshot.remove();
  }
}
