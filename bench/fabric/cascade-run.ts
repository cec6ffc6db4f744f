/**
 * Part 3 of `npm run bench -- fabric`: the cascade table on the test split. Always-device,
 * always-edge, always-cloud and the fogline cascade measured on the real system (SDK devices → edge
 * → the real cloud gateway); the oracle router and the policy replay computed from offline
 * predictions (bench/fabric/cascade.ts).
 */
import type { EdgeAgentOptions } from '@fogline/edge-agent';
import { loadDigits } from '@fogline/shared/digits-dataset';
import { accuracyOf, predictSplit } from '@fogline/shared/digits-eval';
import {
  ALWAYS_ESCALATE,
  oracleRow,
  type Policy,
  replayCascade,
  rowFromRecords,
  TIERS,
  type TierName,
} from './cascade.ts';
import { runDevices, type SdkRecord, type SdkResult } from './devices.ts';
import { BENCH_EDGE_ID, type Bench, startBenchCloud, startBenchEdge } from './stack.ts';

export type CascadeSection = Awaited<ReturnType<typeof runCascade>>;

/** One pass over the whole test split through `broker`, `cascadeConcurrency` devices × 1 in flight. */
function pass(b: Bench, broker: string, policy?: Policy): Promise<SdkResult> {
  return runDevices({
    broker,
    edgeId: BENCH_EDGE_ID,
    model: b.entries.device.modelPath(),
    devices: b.devices.slice(0, b.cascadeConcurrency),
    inFlightPerDevice: 1,
    deadlineMs: b.deadlineMs,
    warmupPerDevice: 30,
    count: loadDigits('test').count,
    ...(policy ? { policy } : {}),
  });
}

async function withEdge<T>(
  b: Bench,
  options: Partial<EdgeAgentOptions>,
  run: (edge: Awaited<ReturnType<typeof startBenchEdge>>) => Promise<T>,
): Promise<T> {
  const edge = await startBenchEdge(b, options);
  try {
    return await run(edge);
  } finally {
    await edge.stop();
  }
}

/** Always-cloud and the cascade: edges with the real gateway behind them. */
async function runWithCloud(b: Bench) {
  const cloud = await startBenchCloud(b, b.entries.cloud.name);
  const withCloud = { model: b.entries.edge.name, cloudUrl: cloud.url, cloudModel: b.entries.cloud.name };
  try {
    const forced = {
      ...withCloud,
      routingScore: ALWAYS_ESCALATE.score,
      routingThreshold: ALWAYS_ESCALATE.threshold,
    };
    const alwaysCloud = (await withEdge(b, forced, (edge) => pass(b, edge.url, ALWAYS_ESCALATE))).records;
    // The product defaults: device and edge policies from their model configs.
    return await withEdge(b, withCloud, async (edge) => {
      const cascade = await pass(b, edge.url);
      const { counts, errorsByCode, breakerOpens } = edge.agent.telemetry();
      const edgePolicy: Policy = { score: edge.info.routing.score, threshold: edge.info.routing.threshold };
      return { alwaysCloud, cascade, edgePolicy, edgeTelemetry: { counts, errorsByCode, breakerOpens } };
    });
  } finally {
    await cloud.stop();
  }
}

/** Always-device and always-edge go through `answeringEdge` (threshold 0, no cloud). */
export async function runCascade(b: Bench, answeringEdge: string) {
  const measured = {} as Record<TierName, SdkRecord[]>;
  const deviceScore = b.entries.device.config.routing.score;
  measured.device = (await pass(b, answeringEdge, { score: deviceScore, threshold: 0 })).records;
  measured.edge = (await pass(b, answeringEdge, ALWAYS_ESCALATE)).records;
  b.log('always-device and always-edge done');

  const { alwaysCloud, cascade, edgePolicy, edgeTelemetry } = await runWithCloud(b);
  measured.cloud = alwaysCloud;
  b.log('always-cloud and cascade done');

  const offline = Object.fromEntries(
    await Promise.all(
      TIERS.map(async (t) => [t, await predictSplit(b.entries[t].modelPath(), 'test')] as const),
    ),
  ) as Record<TierName, Awaited<ReturnType<typeof predictSplit>>>;
  const devicePolicy = cascade.policy as Policy;
  const via = 'measured: SDK devices → edge → cloud gateway;';
  return {
    rows: [
      rowFromRecords(
        'always-device',
        'measured: SDK devices, device threshold 0 (nothing leaves the device)',
        measured.device,
      ),
      rowFromRecords(
        'always-edge',
        'measured: SDK devices → edge; device forced to escalate, edge threshold 0',
        measured.edge,
      ),
      rowFromRecords('always-cloud', `${via} device and edge forced to escalate`, measured.cloud),
      rowFromRecords(
        'fogline cascade',
        `${via} device and edge policies from the model configs`,
        cascade.records,
      ),
      oracleRow(offline, measured),
    ],
    devicePolicy,
    edgePolicy,
    /** The cascade's policies replayed on offline logits: what the measured row should show. */
    replay: replayCascade(offline, devicePolicy, edgePolicy),
    offlineAccuracy: Object.fromEntries(TIERS.map((t) => [t, accuracyOf(offline[t]).accuracy])) as Record<
      TierName,
      number
    >,
    edgeTelemetry,
  };
}
