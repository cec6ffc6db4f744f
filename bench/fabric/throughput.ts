/**
 * Part 2 of the fabric bench: the edge under closed-loop MQTT load, 64 devices × 1/4/8 in flight,
 * each round paired with raw just before it; then the bare-broker floors and the CPU budget.
 */
import { availableParallelism } from 'node:os';
import { cpuBudget } from '../lib/cpu-budget.ts';
import { startCounters } from '../lib/process-counters.ts';
import type { RawBaseline, RawMeasurement } from '../lib/raw-onnx.ts';
import { median, round } from '../lib/stats.ts';
import { type MqttLoadPlan, runLoad } from '../load/run-load.ts';
import { measureBrokerFloor } from './floor.ts';
import { BENCH_EDGE_ID, type Bench } from './stack.ts';

const IN_FLIGHT_PER_DEVICE = [1, 4, 8];

export type ThroughputSection = Awaited<ReturnType<typeof runThroughput>>;

/** Lean MQTT devices, `inFlight` requests each in flight, on `edgeId`'s infer topic (the bench edge's by default). */
export function loadPlan(
  b: Pick<Bench, 'devices' | 'deadlineMs' | 'seconds'>,
  broker: string,
  inFlight: number,
  devices = b.devices,
  edgeId = BENCH_EDGE_ID,
): MqttLoadPlan {
  return {
    protocol: 'mqtt',
    broker,
    edgeId,
    devices,
    deadlineMs: b.deadlineMs,
    // A request is never left waiting: no reply within deadline + 1 s counts as lost.
    lostAfterMs: b.deadlineMs + 1000,
    connections: devices.length,
    inFlightPerConnection: inFlight,
    warmupMs: 1000,
    durationMs: b.seconds * 1000,
  };
}

/** Raw at the best batch size right before (same moment, same background load), then the edge. */
async function throughputRound(plan: MqttLoadPlan, raw: RawBaseline, batch: number) {
  const rawSamplesPerSec = (await raw.measure(batch, 1000)).samplesPerSec;
  let counters = startCounters();
  const r = await runLoad(plan, () => {
    counters = startCounters(); // the connects (a token hash per device) left out
  });
  const edgeProcess = round(counters().cpuMicros / r.total, 1);
  const reqPerSec = r.completed / r.seconds;
  return {
    reqPerSec: round(reqPerSec, 1),
    rawSamplesPerSec: round(rawSamplesPerSec, 1),
    ratio: round(reqPerSec / rawSamplesPerSec),
    latency: r.latency,
    errors: r.errors,
    // Per request over the whole run once connected (warm-up included).
    cpuMicrosPerRequest: { edgeProcess, loadProcess: r.cpuMicrosPerRequest },
  };
}

export async function runThroughput(b: Bench, broker: string, raw: RawBaseline, baseline: RawMeasurement) {
  const measured = [];
  for (const inFlight of IN_FLIGHT_PER_DEVICE) {
    const rounds = [];
    for (let i = 0; i < b.throughputRounds; i++)
      rounds.push(await throughputRound(loadPlan(b, broker, inFlight), raw, baseline.best.batch));
    measured.push(rounds);
  }
  // The box's limit is the best raw figure of the whole run: a paired raw run caught by a burst of
  // background load would otherwise flatter the edge. The target uses it; paired ratios stay alongside.
  const limit = Math.max(baseline.best.samplesPerSec, ...measured.flat().map((r) => r.rawSamplesPerSec));
  const rows = measured.map((rounds, i) => {
    const mid = [...rounds].sort((x, y) => x.reqPerSec - y.reqPerSec)[Math.floor((rounds.length - 1) / 2)]!;
    const row = {
      ...mid,
      concurrency: b.devices.length * IN_FLIGHT_PER_DEVICE[i]!,
      ratioVsLimit: round(mid.reqPerSec / limit),
      ratioPaired: median(rounds.map((r) => r.ratio)),
      rounds,
    };
    b.log(
      `edge throughput c=${row.concurrency}: ${row.reqPerSec} req/s = ${row.ratioVsLimit} of the best raw ${limit.toFixed(0)}/s`,
    );
    return row;
  });
  const floor = await measureBrokerFloor(loadPlan(b, broker, IN_FLIGHT_PER_DEVICE.at(-1)!));
  const top = rows.at(-1)!;
  const budget = cpuBudget({
    cores: availableParallelism(),
    rawSamplesPerSec: limit,
    rawThreads: baseline.sessions * baseline.intraOpThreads,
    floorMicros: floor.brokerCpuMicros,
    loadMicros: top.cpuMicrosPerRequest.loadProcess,
    serverMicros: top.cpuMicrosPerRequest.edgeProcess,
    targetRatio: 0.7,
  });
  b.log(
    `bare broker c=${floor.concurrency}: ${floor.reqPerSec.toFixed(0)} req/s, ${floor.brokerCpuMicros.toFixed(1)} µs/req`,
  );
  return { rawLimitSamplesPerSec: round(limit, 1), rows, floor, budget };
}
