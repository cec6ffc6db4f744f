/**
 * `npm run bench -- fabric [--seconds N] [--deadline-ms N] [--cascade-concurrency N] [--throughput-rounds N]
 *   [--workers N] [--intra-op-threads N] [--device-model name] [--edge-model name] [--cloud-model name]
 *   [--only transport,throughput,cascade]`
 *
 * The three tiers working together, all on 127.0.0.1, against raw onnxruntime-node on the edge model
 * measured in the same run: 1. transport overhead (bench/fabric/transport.ts); 2. edge throughput
 * (bench/fabric/throughput.ts); 3. the cascade table (bench/fabric/cascade-run.ts). Models and routing
 * policies come from the model repository, copied at the start so a run sees one version of each.
 * Profiling: `node --cpu-prof --import tsx bench/run.ts fabric ...` profiles the edge side; with
 * `FOGLINE_BENCH_PROF=<dir>` the child processes write their own .cpuprofile files there too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DEFAULT_MODEL_PATH } from '@fogline/device-sdk';
import { AGENT_DEFAULTS } from '@fogline/edge-agent';
import {
  DEFAULT_MODELS_DIR,
  effectiveThreshold,
  loadModelRepository,
  type ModelEntry,
} from '@fogline/shared/model-repository/index';
import { defaultEdgeEngineSizing } from '@fogline/shared/runtime/index';
import { runCascade } from './fabric/cascade-run.ts';
import { evaluateTargets, renderMarkdown } from './fabric/markdown.ts';
import {
  BENCH_PUBLISH_RATE,
  type Bench,
  benchDevices,
  snapshotModels,
  startBenchEdge,
} from './fabric/stack.ts';
import { runThroughput } from './fabric/throughput.ts';
import { runTransport } from './fabric/transport.ts';
import { numberFlag, stringFlag } from './lib/flags.ts';
import { openRaw, sweep } from './lib/raw-onnx.ts';
import { machine, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';

const SECTIONS = ['transport', 'throughput', 'cascade'];

function describeModel(entry: ModelEntry) {
  const sha256 = createHash('sha256').update(readFileSync(entry.modelPath())).digest('hex').slice(0, 16);
  const { description, routing } = entry.config;
  return {
    name: entry.name,
    version: entry.latestVersion,
    sha256,
    description,
    routing,
    effectiveThreshold: effectiveThreshold(routing),
  };
}

/** Raw baseline first, then the parts asked for against an edge that answers everything itself. */
async function measure(b: Bench, only: readonly string[]) {
  // Raw onnxruntime with the session settings of the edge's workers (no spinning), one process each.
  const raw = await openRaw({
    modelPath: b.entries.edge.modelPath(),
    sessions: b.engine.workers,
    intraOpThreads: b.engine.intraOpThreads,
    spin: false,
  });
  try {
    const msPerBatch = Math.min(1500, (b.seconds * 1000) / 3);
    const baseline = {
      ...(await sweep(raw, [1, 2, 4, 8, 16, 32, 64], msPerBatch)),
      single: await raw.single(msPerBatch),
    };
    b.log(
      `raw: best ${baseline.best.samplesPerSec.toFixed(0)} samples/s at batch ${baseline.best.batch}; single p50 ${baseline.single.p50Ms.toFixed(3)} ms`,
    );
    // The answering edge: threshold 0, no cloud.
    const edge = await startBenchEdge(b, { model: b.entries.edge.name, routingThreshold: 0 });
    try {
      const transport = only.includes('transport') ? await runTransport(b, edge.url, baseline) : undefined;
      const throughput = only.includes('throughput')
        ? await runThroughput(b, edge.url, raw, baseline)
        : undefined;
      const cascade = only.includes('cascade') ? await runCascade(b, edge.url) : undefined;
      return { raw: baseline, transport, throughput, cascade };
    } finally {
      await edge.stop();
    }
  } finally {
    await raw.close();
  }
}

export type FabricReport = ReturnType<typeof report>;

function report(
  b: Bench,
  args: string[],
  durationSec: number,
  measured: Awaited<ReturnType<typeof measure>>,
) {
  return {
    at: new Date().toISOString(),
    command: `npm run bench -- fabric${args.length ? ` ${args.join(' ')}` : ''}`,
    durationSec,
    machine: machine(),
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
    ...measured,
  };
}

export default async function run(args: string[] = []): Promise<void> {
  const began = performance.now();
  const only = (stringFlag(args, '--only') ?? SECTIONS.join(',')).split(',');
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length > 0) throw new Error(`--only takes ${SECTIONS.join(',')}; got ${unknown.join(',')}`);
  const sizing = defaultEdgeEngineSizing();
  const names = {
    device: stringFlag(args, '--device-model') ?? basename(dirname(dirname(DEFAULT_MODEL_PATH))),
    edge: stringFlag(args, '--edge-model') ?? AGENT_DEFAULTS.model,
    cloud: stringFlag(args, '--cloud-model') ?? AGENT_DEFAULTS.cloudModel,
  };
  const snapshot = await snapshotModels(DEFAULT_MODELS_DIR, Object.values(names));
  try {
    const repo = await loadModelRepository(snapshot.dir);
    const b: Bench = {
      entries: { device: repo.get(names.device), edge: repo.get(names.edge), cloud: repo.get(names.cloud) },
      modelsDir: snapshot.dir,
      devices: benchDevices(64),
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
      `models ${names.device} → ${names.edge} → ${names.cloud}; edge ${b.engine.workers} worker(s) × ${b.engine.intraOpThreads} thread(s)`,
    );
    const measured = await measure(b, only);
    const r = report(b, args, round((performance.now() - began) / 1000, 1), measured);
    const targets = evaluateTargets(r);
    writeReport('fabric', { ...r, targets }, renderMarkdown(r, targets));
  } finally {
    await snapshot.remove();
  }
}
