/** Shape of bench/reports/fabric.json and the targets, checked against a report. */
import type { ResolvedPolicy, RoutingPolicy, Tier } from '@fogline/shared';
import type { CpuBudget } from './cpu-budget.ts';
import type { CascadeRow } from './fabric-cascade.ts';
import type { BrokerFloor } from './fabric-floor.ts';
import type { RawMeasurement } from './fabric-raw.ts';
import type { LatencySummary } from './fabric-stats.ts';

export interface TransportRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly reqPerSec: number;
  /** Requests the edge did not answer itself (device answered: policy or fallback); excluded below. */
  readonly notAnsweredByEdge: number;
  readonly total: LatencySummary;
  readonly device: LatencySummary;
  readonly edge: LatencySummary;
  /** total − device model time − the reply's edge_ms (receipt → answer ready, queue + batch + model). */
  readonly overhead: LatencySummary;
  /** total − device model time − raw single-sample edge-model latency (p50): also counts batching and the worker hop. */
  readonly overheadVsRawSingle: LatencySummary;
}

export interface ThroughputRoundSummary {
  readonly reqPerSec: number;
  /** Raw onnxruntime at the best batch size, measured just before this round. */
  readonly rawSamplesPerSec: number;
  readonly ratio: number;
}

/** The round with the median req/s; `rounds` lists them all. */
export interface ThroughputRow {
  readonly concurrency: number;
  readonly clients: number;
  readonly reqPerSec: number;
  /** Raw measured just before this round. */
  readonly rawSamplesPerSec: number;
  /** The best raw figure of the whole run: the box's limit. */
  readonly rawLimitSamplesPerSec: number;
  /** req/s ÷ rawLimitSamplesPerSec (conservative; the target's ratio). */
  readonly ratio: number;
  /** Median over the rounds of req/s ÷ the raw figure measured just before each. */
  readonly ratioPaired: number;
  readonly rounds: readonly ThroughputRoundSummary[];
  readonly latency: LatencySummary;
  readonly errors: Record<string, number>;
  /** CPU time per request over the whole load run (warm-up and connects included), by process. */
  readonly cpuMicrosPerRequest: { readonly edgeProcess: number; readonly loadProcess: number };
  /** Syscalls of the edge's process per request (null where /proc/self/io is missing). */
  readonly edgeSyscallsPerRequest: { readonly reads: number | null; readonly writes: number | null };
}

export interface ThroughputSection {
  readonly rows: ThroughputRow[];
  readonly floor: BrokerFloor;
  /** The same bare broker writing each packet on its own (Aedes' default): what coalescing saves. */
  readonly floorWithoutCoalescing: BrokerFloor;
  readonly budget: CpuBudget;
}

export interface ModelInfo {
  readonly name: string;
  readonly version: number;
  readonly sha256: string;
  readonly description: string;
  readonly routing: RoutingPolicy;
  readonly effectiveThreshold: number;
}

export interface FabricReport {
  readonly at: string;
  readonly command: string;
  readonly durationSec: number;
  readonly machine: {
    cores: number;
    cpu: string;
    node: string;
    platform: string;
    loadavgStart: number[];
    loadavgEnd: number[];
  };
  readonly models: Record<Tier, ModelInfo>;
  readonly settings: {
    seconds: number;
    deadlineMs: number;
    cascadeConcurrency: number;
    throughputRounds: number;
    edgeWorkers: number;
    edgeIntraOpThreads: number;
    publishRate: { ratePerSec: number; burst: number };
  };
  /** Raw onnxruntime-node on the edge model (throughput baseline, single-sample latency). */
  readonly raw: RawMeasurement;
  /** Sections left out with --only are undefined. */
  readonly transport: TransportRow[] | undefined;
  readonly throughput: ThroughputSection | undefined;
  readonly cascade: CascadeSection | undefined;
}

export interface CascadeSection {
  readonly rows: CascadeRow[];
  readonly devicePolicy: ResolvedPolicy;
  readonly edgePolicy: ResolvedPolicy;
  /** The cascade's policies replayed on offline logits: what the measured row should show. */
  readonly replay: { accuracy: number; share: Record<Tier, number> };
  readonly offlineAccuracy: Record<Tier, number>;
  readonly edgeTelemetry: { counts: object; errorsByCode: object; breakerOpens: number } | undefined;
}

export interface Target {
  readonly name: string;
  readonly value: string;
  readonly goal: string;
  readonly met: boolean;
}

export const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)} %`;
export const ms = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');

export function evaluateTargets(r: FabricReport): Target[] {
  const targets: Target[] = [];
  const c1 = r.transport?.find((t) => t.concurrency === 1);
  if (c1) {
    targets.push({
      name: 'transport overhead p50 at concurrency 1',
      value: `${ms(c1.overhead.p50Ms, 3)} ms`,
      goal: '≤ 1 ms',
      met: c1.overhead.p50Ms <= 1,
    });
  }
  if (r.throughput && r.throughput.rows.length > 0) {
    const best = Math.max(...r.throughput.rows.map((t) => t.ratio));
    targets.push({
      name: 'edge throughput / raw onnxruntime batched (best concurrency)',
      value: best.toFixed(2),
      goal: '≥ 0.70',
      met: best >= 0.7,
    });
  }
  const row = (name: string) => r.cascade?.rows.find((x) => x.name === name);
  const cascade = row('fogline cascade');
  const cloud = row('always-cloud');
  if (cascade && cloud) {
    const lossPp = 100 * (cloud.accuracy - cascade.accuracy);
    targets.push(
      {
        name: 'cascade accuracy vs always-cloud',
        value: `${pct(cascade.accuracy, 2)} vs ${pct(cloud.accuracy, 2)} (${lossPp > 0 ? '−' : '+'}${Math.abs(lossPp).toFixed(2)} pp)`,
        goal: '≥ always-cloud − 0.3 pp',
        met: lossPp <= 0.3,
      },
      {
        name: 'cascade share reaching the cloud',
        value: pct(cascade.share.cloud),
        goal: '≤ 15 %',
        met: cascade.share.cloud <= 0.15,
      },
    );
  }
  return targets;
}
