/**
 * The three measured parts of `npm run bench -- fabric` (bench/fabric.ts): transport overhead, edge
 * throughput and the cascade table. Each takes the running answering edge (threshold 0, no cloud) and
 * starts whatever else it needs itself.
 */
import { availableParallelism } from 'node:os';
import { type ResolvedPolicy, TIERS, type Tier } from '@fogline/shared';
import { accuracyOf, DIGIT_PIXELS, loadDigits, predictSplit } from '@fogline/shared/digits';
import type { ModelEntry } from '@fogline/shared/model-repository';
import { cpuBudget } from './cpu-budget.ts';
import { oracleRow, replayCascade, rowFromRecords, type SplitLogits } from './fabric-cascade.ts';
import type { SdkRecord, SdkResult } from './fabric-devices.ts';
import { measureBrokerFloor } from './fabric-floor.ts';
import { measureRaw, type RawMeasurement } from './fabric-raw.ts';
import type {
  CascadeSection,
  ThroughputRoundSummary,
  ThroughputRow,
  ThroughputSection,
  TransportRow,
} from './fabric-report.ts';
import { type BenchCredentials, runDevices, startBenchCloud, startBenchEdge } from './fabric-stack.ts';
import { round, summarize } from './fabric-stats.ts';
import { perRequest, startCounters } from './process-counters.ts';

/**
 * Forces a device (or an edge) to escalate everything: normalised-entropy confidence reaches 1 only
 * for an exactly one-hot softmax. (A threshold above 1, e.g. 1.01, is refused by policy validation.)
 */
export const ALWAYS_ESCALATE: ResolvedPolicy = { score: 'entropy', threshold: 1 };

export interface Bench {
  readonly entries: Record<Tier, ModelEntry>;
  readonly modelsDir: string;
  readonly credentials: BenchCredentials;
  readonly seconds: number;
  readonly deadlineMs: number;
  readonly cascadeConcurrency: number;
  /** Rounds per throughput load (each paired with its own raw measurement); the median is reported. */
  readonly throughputRounds: number;
  readonly engine: { workers: number; intraOpThreads: number };
  log(message: string): void;
}

function transportRow(concurrency: number, result: SdkResult, rawSingleP50: number): TransportRow {
  const answered = result.records.filter((r) => r.tier === 'edge' && r.edgeMs !== null);
  const net = (r: SdkRecord) => r.totalMs - r.deviceMs;
  return {
    concurrency,
    requests: result.records.length,
    reqPerSec: round(result.records.length / result.seconds, 1),
    notAnsweredByEdge: result.records.length - answered.length,
    total: summarize(answered.map((r) => r.totalMs)),
    device: summarize(answered.map((r) => r.deviceMs)),
    edge: summarize(answered.map((r) => r.edgeMs!)),
    overhead: summarize(answered.map((r) => net(r) - r.edgeMs!)),
    overheadVsRawSingle: summarize(answered.map((r) => net(r) - rawSingleP50)),
  };
}

/** Section 1: device → edge → device, edge answering everything (threshold 0, no cloud). */
export async function runTransport(b: Bench, broker: string, raw: RawMeasurement): Promise<TransportRow[]> {
  const rows: TransportRow[] = [];
  for (const concurrency of [1, 64]) {
    const result = await runDevices({
      kind: 'sdk',
      broker,
      model: b.entries.device.modelPath(),
      devices: b.credentials.devices.slice(0, concurrency),
      inFlightPerDevice: 1,
      deadlineMs: b.deadlineMs,
      policy: ALWAYS_ESCALATE,
      warmupPerDevice: concurrency === 1 ? 20 : 3,
      durationMs: b.seconds * 1000,
    });
    const row = transportRow(concurrency, result, raw.single.p50Ms);
    rows.push(row);
    b.log(
      `transport c=${concurrency}: ${row.requests} req, total p50 ${row.total.p50Ms.toFixed(3)} ms, overhead p50 ${row.overhead.p50Ms.toFixed(3)} / p99 ${row.overhead.p99Ms.toFixed(3)} ms`,
    );
  }
  return rows;
}

/**
 * [clients, requests in flight per client]: 64 devices, from one request each (latency-bound) up to
 * eight (saturation, where throughput is measured; the edge's p50 stays in tens of ms).
 */
const THROUGHPUT_LOADS = [
  [64, 1],
  [64, 4],
  [64, 8],
] as const;

/**
 * Section 2: the edge under closed-loop load from lean MQTT clients, then the bare-broker floor under
 * the heaviest of those loads (bench/fabric-floor.ts) and the CPU budget per request it implies.
 */
export async function runThroughput(
  b: Bench,
  broker: string,
  raw: RawMeasurement,
): Promise<ThroughputSection> {
  const measured: ThroughputRound[][] = [];
  for (const [clients, inFlight] of THROUGHPUT_LOADS) {
    const rounds: ThroughputRound[] = [];
    for (let round = 0; round < b.throughputRounds; round++)
      rounds.push(await throughputRound(b, broker, raw, clients, inFlight));
    measured.push(rounds);
  }
  // The box's limit is the best raw figure seen anywhere in the run: a paired raw run caught by a
  // burst of background load would otherwise flatter the edge. The target uses this conservative
  // ratio; the median of the paired ratios is kept alongside.
  const limit = Math.max(raw.best.samplesPerSec, ...measured.flat().map((r) => r.summary.rawSamplesPerSec));
  const rows = measured.map((rounds) => {
    const byRate = [...rounds].sort((x, y) => x.row.reqPerSec - y.row.reqPerSec);
    const median = byRate[Math.floor((byRate.length - 1) / 2)]!;
    const paired = rounds.map((r) => r.ratio).sort((x, y) => x - y);
    const row: ThroughputRow = {
      ...median.row,
      ratio: round(median.row.reqPerSec / limit),
      ratioPaired: round(paired[Math.floor((paired.length - 1) / 2)]!),
      rawLimitSamplesPerSec: round(limit, 1),
      rounds: rounds.map((r) => r.summary),
    };
    b.log(
      `edge throughput c=${row.concurrency}: ${row.reqPerSec.toFixed(0)} req/s (median round) ÷ best raw ${limit.toFixed(0)} = ${row.ratio.toFixed(2)}; paired ratios ${paired.map((x) => x.toFixed(2)).join(' ')}`,
    );
    return row;
  });
  const [clients, inFlight] = THROUGHPUT_LOADS[THROUGHPUT_LOADS.length - 1]!;
  const floorLoad = {
    devices: b.credentials.devices.slice(0, clients),
    inFlightPerDevice: inFlight,
    deadlineMs: b.deadlineMs,
    seconds: b.seconds,
  };
  const floor = await measureBrokerFloor(floorLoad);
  const floorWithoutCoalescing = await measureBrokerFloor({ ...floorLoad, coalesceWrites: false });
  const heaviest = rows[rows.length - 1]!;
  const budget = cpuBudget({
    cores: availableParallelism(),
    rawSamplesPerSec: limit,
    rawThreads: raw.sessions * raw.intraOpThreads,
    floorMicros: floor.brokerCpuMicros,
    loadMicros: heaviest.cpuMicrosPerRequest.loadProcess,
    serverMicros: heaviest.cpuMicrosPerRequest.edgeProcess,
    targetRatio: 0.7,
  });
  b.log(
    `bare broker c=${floor.concurrency}: ${floor.reqPerSec.toFixed(0)} req/s, CPU µs/request: broker ${floor.brokerCpuMicros.toFixed(1)}, load ${floor.loadCpuMicros.toFixed(1)}; ceiling for any MQTT edge here ${budget.ceilingRatio.toFixed(2)} of raw`,
  );
  b.log(
    `bare broker c=${floor.concurrency}, each packet written on its own: ${floorWithoutCoalescing.reqPerSec.toFixed(0)} req/s, CPU µs/request ${floorWithoutCoalescing.brokerCpuMicros.toFixed(1)}, writes/request ${floorWithoutCoalescing.brokerWritesPerRequest} (coalesced: ${floor.brokerWritesPerRequest})`,
  );
  return {
    rows,
    floor: { ...floor, reqPerSec: round(floor.reqPerSec, 1) },
    floorWithoutCoalescing: {
      ...floorWithoutCoalescing,
      reqPerSec: round(floorWithoutCoalescing.reqPerSec, 1),
    },
    budget,
  };
}

interface ThroughputRound {
  readonly ratio: number;
  readonly row: Omit<ThroughputRow, 'rounds' | 'ratioPaired' | 'rawLimitSamplesPerSec'>;
  readonly summary: ThroughputRoundSummary;
}

/**
 * One round: raw onnxruntime at the best batch size measured right before the edge run (same moment,
 * same background load), then the edge under closed-loop load; ratio = edge req/s ÷ that raw figure.
 */
async function throughputRound(
  b: Bench,
  broker: string,
  raw: RawMeasurement,
  clients: number,
  inFlight: number,
): Promise<ThroughputRound> {
  const paired = await measureRaw({
    modelPath: b.entries.edge.modelPath(),
    sessions: raw.sessions,
    intraOpThreads: raw.intraOpThreads,
    images: loadDigits('test').images.slice(0, raw.best.batch * DIGIT_PIXELS),
    batches: [raw.best.batch],
    msPerBatch: 1000,
  });
  const rawSamplesPerSec = paired.best.samplesPerSec;
  const counters = startCounters();
  const r = await runDevices({
    kind: 'raw',
    broker,
    devices: b.credentials.devices.slice(0, clients),
    inFlightPerDevice: inFlight,
    deadlineMs: b.deadlineMs,
    warmupMs: 1000,
    durationMs: b.seconds * 1000,
  });
  const spent = counters();
  const reqPerSec = r.completed / r.seconds;
  const edgeCpu = round(spent.cpuMicros / Math.max(1, r.requestsIncludingWarmup), 1);
  const edgeSyscalls = {
    reads: perRequest(spent.readSyscalls, r.requestsIncludingWarmup),
    writes: perRequest(spent.writeSyscalls, r.requestsIncludingWarmup),
  };
  const ratio = reqPerSec / rawSamplesPerSec;
  b.log(
    `  round c=${clients * inFlight}: raw ${rawSamplesPerSec.toFixed(0)}/s, edge ${reqPerSec.toFixed(0)} req/s (${ratio.toFixed(2)}), CPU µs/request: edge process ${edgeCpu}, load process ${r.cpuMicrosPerRequest}; edge writes/request ${edgeSyscalls.writes} ${JSON.stringify(r.errors)}`,
  );
  const summary = {
    reqPerSec: round(reqPerSec, 1),
    rawSamplesPerSec: round(rawSamplesPerSec, 1),
    ratio: round(ratio),
  };
  return {
    ratio,
    summary,
    row: {
      concurrency: clients * inFlight,
      clients,
      reqPerSec: summary.reqPerSec,
      rawSamplesPerSec: summary.rawSamplesPerSec,
      ratio: summary.ratio,
      latency: r.latency,
      errors: r.errors,
      cpuMicrosPerRequest: { edgeProcess: edgeCpu, loadProcess: r.cpuMicrosPerRequest },
      edgeSyscallsPerRequest: edgeSyscalls,
    },
  };
}

/** One pass over the whole test split through `broker`, `cascadeConcurrency` devices. */
async function sweep(b: Bench, broker: string, policy?: ResolvedPolicy): Promise<SdkResult> {
  return runDevices({
    kind: 'sdk',
    broker,
    model: b.entries.device.modelPath(),
    devices: b.credentials.devices.slice(0, b.cascadeConcurrency),
    inFlightPerDevice: 1,
    deadlineMs: b.deadlineMs,
    warmupPerDevice: 30,
    count: loadDigits('test').count,
    ...(policy ? { policy } : {}),
  });
}

/** Section 3: always-device / always-edge / always-cloud / cascade on the real system, plus the oracle. */
export async function runCascade(b: Bench, answeringEdge: string): Promise<CascadeSection> {
  const { entries } = b;
  const measured = {} as Record<Tier, SdkRecord[]>;
  const deviceScore = entries.device.config.routing.score;
  measured.device = (await sweep(b, answeringEdge, { score: deviceScore, threshold: 0 })).records;
  b.log('always-device done');
  measured.edge = (await sweep(b, answeringEdge, ALWAYS_ESCALATE)).records;
  b.log('always-edge done');

  const cloud = await startBenchCloud(b.modelsDir, entries.cloud.name);
  let cascade: SdkResult;
  let edgePolicy: ResolvedPolicy;
  let edgeTelemetry: CascadeSection['edgeTelemetry'];
  try {
    const withCloud = {
      ...b.engine,
      modelsDir: b.modelsDir,
      model: entries.edge.name,
      cloudUrl: cloud.url,
      cloudModel: entries.cloud.name,
    };
    const forced = await startBenchEdge(b.credentials, {
      ...withCloud,
      routingScore: ALWAYS_ESCALATE.score,
      routingThreshold: ALWAYS_ESCALATE.threshold,
    });
    try {
      measured.cloud = (await sweep(b, forced.broker, ALWAYS_ESCALATE)).records;
      b.log('always-cloud done');
    } finally {
      await forced.stop();
    }
    // The product defaults: device and edge policies from their model configs.
    const edge = await startBenchEdge(b.credentials, withCloud);
    try {
      edgePolicy = { score: edge.info.routing.score, threshold: edge.info.routing.threshold };
      cascade = await sweep(b, edge.broker);
      const t = edge.agent.telemetry();
      edgeTelemetry = { counts: t.counts, errorsByCode: t.errorsByCode, breakerOpens: t.breakerOpens };
      b.log('cascade done');
    } finally {
      await edge.stop();
    }
  } finally {
    await cloud.stop();
  }

  const offline = {} as Record<Tier, SplitLogits>;
  const offlineAccuracy = {} as Record<Tier, number>;
  for (const tier of TIERS) {
    const p = await predictSplit(entries[tier].modelPath(), 'test');
    offline[tier] = p;
    offlineAccuracy[tier] = accuracyOf(p).accuracy;
  }
  const devicePolicy = cascade.policy as ResolvedPolicy;
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
      rowFromRecords(
        'always-cloud',
        'measured: SDK devices → edge → cloud gateway; device and edge forced to escalate',
        measured.cloud,
      ),
      rowFromRecords(
        'fogline cascade',
        'measured: SDK devices → edge → cloud gateway; device and edge policies from the model configs',
        cascade.records,
      ),
      oracleRow(offline, measured),
    ],
    devicePolicy,
    edgePolicy,
    replay: replayCascade(offline, devicePolicy, edgePolicy),
    offlineAccuracy,
    edgeTelemetry,
  };
}
