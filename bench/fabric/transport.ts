/**
 * Part 1 of `npm run bench -- fabric`: device → edge → device over loopback MQTT. Real SDK devices
 * forced to escalate, the edge answering everything (threshold 0, no cloud), at concurrency 1 and 64.
 * Overhead = device-measured total − tiny-model time − the reply's `edge_ms` (edge receipt → answer
 * ready); "vs raw" subtracts the raw single-sample edge-model latency instead.
 */
import type { RawMeasurement } from '../lib/raw-onnx.ts';
import { type LatencySummary, round, summarize } from '../lib/stats.ts';
import { ALWAYS_ESCALATE } from './cascade.ts';
import { runDevices, type SdkResult } from './devices.ts';
import { BENCH_EDGE_ID, type Bench } from './stack.ts';

export interface TransportRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly reqPerSec: number;
  /** Requests the edge did not answer itself (policy or fallback); excluded below. */
  readonly notAnsweredByEdge: number;
  readonly total: LatencySummary;
  readonly device: LatencySummary;
  readonly edge: LatencySummary;
  readonly overhead: LatencySummary;
  readonly overheadVsRawSingle: LatencySummary;
}

function transportRow(concurrency: number, result: SdkResult, rawSingleP50: number): TransportRow {
  const answered = result.records.filter((r) => r.tier === 'edge' && r.edgeMs !== null);
  const net = answered.map((r) => r.totalMs - r.deviceMs);
  return {
    concurrency,
    requests: result.records.length,
    reqPerSec: round(result.records.length / result.seconds, 1),
    notAnsweredByEdge: result.records.length - answered.length,
    total: summarize(answered.map((r) => r.totalMs)),
    device: summarize(answered.map((r) => r.deviceMs)),
    edge: summarize(answered.map((r) => r.edgeMs!)),
    overhead: summarize(answered.map((r, i) => net[i]! - r.edgeMs!)),
    overheadVsRawSingle: summarize(net.map((n) => n - rawSingleP50)),
  };
}

export async function runTransport(b: Bench, broker: string, raw: RawMeasurement): Promise<TransportRow[]> {
  const rows: TransportRow[] = [];
  for (const concurrency of [1, 64]) {
    const result = await runDevices({
      broker,
      edgeId: BENCH_EDGE_ID,
      model: b.entries.device.modelPath(),
      devices: b.devices.slice(0, concurrency),
      inFlightPerDevice: 1,
      deadlineMs: b.deadlineMs,
      policy: ALWAYS_ESCALATE,
      warmupPerDevice: concurrency === 1 ? 20 : 3,
      durationMs: b.seconds * 1000,
    });
    const row = transportRow(concurrency, result, raw.single.p50Ms);
    rows.push(row);
    b.log(
      `transport c=${concurrency}: ${row.requests} req, overhead p50 ${row.overhead.p50Ms.toFixed(3)} / p99 ${row.overhead.p99Ms.toFixed(3)} ms`,
    );
  }
  return rows;
}
