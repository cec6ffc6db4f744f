/**
 * `npm run bench -- fabric [--seconds N] [--deadline-ms N] [--cascade-concurrency N] [--throughput-rounds N]
 *   [--sizing probe|default] [--workers N] [--intra-op-threads N] [--only transport,throughput,cascade]`
 *   (`--sizing probe`: the edge sized from its model's probe on this box, as `fogline edge` does; default:
 *   the core-count rule, as the earlier reports were taken): the three tiers on 127.0.0.1
 * against raw onnxruntime on the edge model in the same run, with a snapshot of the model repository.
 */
import { basename, dirname } from 'node:path';
import { DEFAULT_MODEL_PATH } from '@fogline/device-sdk';
import { AGENT_DEFAULTS } from '@fogline/edge-agent';
import { resolvePolicy } from '@fogline/shared';
import { DEFAULT_MODELS_DIR, loadModelRepository } from '@fogline/shared/model-repository';
import { chooseSizing } from '@fogline/shared/runtime';
import { perTier } from './fabric/cascade.ts';
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
import { reportHead, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';

const SECTIONS = ['transport', 'throughput', 'cascade'];

/** The raw baseline first, then the parts asked for against an edge that answers everything itself. */
async function measure(b: Bench, only: readonly string[]) {
  // Raw onnxruntime with the session settings of the edge's workers (no spinning), one process each.
  const { workers: sessions, intraOpThreads } = b.engine;
  const raw = await openRaw({ modelPath: b.entries.edge.modelPath(), sessions, intraOpThreads, spin: false });
  try {
    const ms = Math.min(1500, (b.seconds * 1000) / 3);
    const baseline = await sweep(raw, [1, 2, 4, 8, 16, 32, 64], ms);
    b.log(`raw: ${baseline.best.samplesPerSec.toFixed(0)} samples/s at batch ${baseline.best.batch}`);
    const edge = await startBenchEdge(b, { model: b.entries.edge.name, routingThreshold: 0 });
    try {
      const transport = only.includes('transport') ? await runTransport(b, edge.url) : undefined;
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
  const { entries, modelsDir, devices, log, engine, ...settings } = b;
  const models = perTier((t) => {
    const { name, latestVersion: version, config } = entries[t];
    const { routing } = config;
    return { name, version, routing, effectiveThreshold: resolvePolicy(routing).threshold };
  });
  const publishRate = BENCH_PUBLISH_RATE;
  const head = reportHead('fabric', args);
  return { ...head, durationSec, models, settings: { ...settings, ...engine, publishRate }, ...measured };
}

export default async function run(args: string[] = []): Promise<void> {
  const began = performance.now();
  const only = (stringFlag(args, '--only') ?? SECTIONS.join(',')).split(',');
  if (only.some((s) => !SECTIONS.includes(s))) throw new Error(`--only takes ${SECTIONS.join(',')}`);
  const names = {
    device: basename(dirname(dirname(DEFAULT_MODEL_PATH))),
    edge: AGENT_DEFAULTS.model,
    cloud: AGENT_DEFAULTS.cloudModel,
  };
  const snapshot = await snapshotModels(DEFAULT_MODELS_DIR, Object.values(names));
  try {
    const repo = await loadModelRepository(snapshot.dir);
    const sizingMode = stringFlag(args, '--sizing') ?? 'default';
    if (sizingMode !== 'probe' && sizingMode !== 'default') throw new Error('--sizing: probe or default');
    const edgeEntry = repo.get(names.edge);
    const asked = (flag: string) => (args.includes(flag) ? numberFlag(args, flag, 1) : undefined);
    const sizing = await chooseSizing(edgeEntry.config, edgeEntry.latestVersion, edgeEntry.modelPath(), {
      tier: 'edge',
      sizing: sizingMode,
      probeDir: snapshot.dir,
      workers: asked('--workers'),
      intraOpThreads: asked('--intra-op-threads'),
    });
    console.log(sizing.line);
    const b: Bench = {
      entries: perTier((t) => repo.get(names[t])),
      modelsDir: snapshot.dir,
      devices: benchDevices(64),
      seconds: numberFlag(args, '--seconds', 5),
      deadlineMs: numberFlag(args, '--deadline-ms', 1000),
      cascadeConcurrency: numberFlag(args, '--cascade-concurrency', 1),
      throughputRounds: numberFlag(args, '--throughput-rounds', 3),
      engine: { workers: sizing.workers, intraOpThreads: sizing.intraOpThreads, sizing: sizingMode },
      log: (m) => console.log(`[fabric ${((performance.now() - began) / 1000).toFixed(0)}s] ${m}`),
    };
    const measured = await measure(b, only);
    const r = report(b, args, round((performance.now() - began) / 1000, 1), measured);
    const targets = evaluateTargets(r);
    writeReport('fabric', { ...r, targets }, renderMarkdown(r, targets));
  } finally {
    await snapshot.remove();
  }
}
