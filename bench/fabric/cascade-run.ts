/**
 * Part 3 of the fabric bench: always-device, always-edge, always-cloud and the cascade measured on the
 * real system (SDK devices → edge → gateway) and the oracle router from offline predictions.
 */
import { readFile } from 'node:fs/promises';
import type { EdgeAgentOptions } from '@fogline/edge-agent';
import { type ResolvedPolicy, resolvePolicy } from '@fogline/shared';
import { type Evaluation, evaluateModel } from '@fogline/toolchain';
import { samplesFor } from '../lib/bench-data.ts';
import type { SdkRecord } from '../load/sdk.ts';
import { ALWAYS_ESCALATE, oracleRow, rowFromRecords, TIERS, type Tier } from './cascade.ts';
import { type Bench, runDevices, startBenchCloud, startBenchEdge } from './stack.ts';

export type CascadeSection = Awaited<ReturnType<typeof runCascade>>;

/** The test split, read through the dataset reader for the device model. */
const testSet = (b: Bench) => samplesFor(b.entries.device.modelPath(), 'test');

/** One pass over the whole test split through `broker`, `cascadeConcurrency` devices. */
async function pass(b: Bench, broker: string, policy?: ResolvedPolicy) {
  const plan = { connections: b.cascadeConcurrency, warmupPerDevice: 30, durationMs: 3_600_000 };
  const { count } = await testSet(b);
  return (await runDevices(b, broker, { ...plan, count, ...(policy ? { policy } : {}) })).records;
}

/** A pass through an edge of its own with the real gateway behind it; also the edge's policy. */
async function passVia(
  b: Bench,
  cloudUrl: string,
  options: Partial<EdgeAgentOptions>,
  policy?: ResolvedPolicy,
) {
  const edge = await startBenchEdge(b, {
    model: b.entries.edge.name,
    cloudUrl,
    cloudModel: b.entries.cloud.name,
    ...options,
  });
  try {
    const records = await pass(b, edge.url, policy);
    const { score, threshold } = edge.info.routing;
    return { records, edgePolicy: { score, threshold } as ResolvedPolicy };
  } finally {
    await edge.stop();
  }
}

/** Always-device and always-edge go through `answeringEdge` (threshold 0, no cloud). */
export async function runCascade(b: Bench, answeringEdge: string) {
  const deviceScore = b.entries.device.config.routing.score;
  const device = await pass(b, answeringEdge, { score: deviceScore, threshold: 0 });
  const edge = await pass(b, answeringEdge, ALWAYS_ESCALATE);
  const gateway = await startBenchCloud(b, b.entries.cloud.name);
  let cloud: SdkRecord[];
  let cascade: Awaited<ReturnType<typeof passVia>>;
  try {
    const forced = { routingScore: ALWAYS_ESCALATE.score, routingThreshold: ALWAYS_ESCALATE.threshold };
    cloud = (await passVia(b, gateway.url, forced, ALWAYS_ESCALATE)).records;
    cascade = await passVia(b, gateway.url, {}); // the product defaults: policies from the model configs
  } finally {
    await gateway.stop();
  }
  b.log('cascade done');
  const test = await testSet(b);
  const offline = {} as Record<Tier, Evaluation>;
  for (const t of TIERS) {
    const entry = b.entries[t];
    offline[t] = await evaluateModel(await readFile(entry.modelPath()), entry.name, entry.config, test);
  }
  return {
    rows: [
      rowFromRecords('always-device', device),
      rowFromRecords('always-edge', edge),
      rowFromRecords('always-cloud', cloud),
      rowFromRecords('fogline cascade', cascade.records),
      oracleRow(offline, test.labels!, { device, edge, cloud }),
    ],
    devicePolicy: resolvePolicy(b.entries.device.config.routing),
    edgePolicy: cascade.edgePolicy,
  };
}
