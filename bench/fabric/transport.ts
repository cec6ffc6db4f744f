/**
 * Part 1 of the fabric bench: SDK devices forced to escalate, the edge answering all (threshold 0, no
 * cloud), at concurrency 1 and 64. Overhead = total − tiny-model time − the reply's `edge_ms`.
 */
import { round, summarize } from '../lib/stats.ts';
import { ALWAYS_ESCALATE } from './cascade.ts';
import { type Bench, runDevices } from './stack.ts';

export type TransportRow = ReturnType<typeof transportRow>;

function transportRow(concurrency: number, result: Awaited<ReturnType<typeof runDevices>>) {
  const answered = result.records.filter((r) => r.tier === 'edge' && r.edgeMs !== null);
  return {
    concurrency,
    requests: result.records.length,
    reqPerSec: round(result.records.length / result.seconds, 1),
    notAnsweredByEdge: result.records.length - answered.length,
    total: summarize(answered.map((r) => r.totalMs)),
    device: summarize(answered.map((r) => r.deviceMs)),
    edge: summarize(answered.map((r) => r.edgeMs!)),
    /** total − device model time − the reply's edge_ms (receipt → answer ready: queue + batch + model). */
    overhead: summarize(answered.map((r) => r.totalMs - r.deviceMs - r.edgeMs!)),
  };
}

export async function runTransport(b: Bench, broker: string): Promise<TransportRow[]> {
  const rows: TransportRow[] = [];
  for (const concurrency of [1, 64]) {
    const warmupPerDevice = concurrency === 1 ? 20 : 3;
    const plan = { connections: concurrency, warmupPerDevice, durationMs: b.seconds * 1000 };
    const row = transportRow(concurrency, await runDevices(b, broker, { ...plan, policy: ALWAYS_ESCALATE }));
    rows.push(row);
    b.log(
      `transport c=${concurrency}: ${row.requests} req, overhead p50 ${row.overhead.p50Ms.toFixed(3)} / p99 ${row.overhead.p99Ms.toFixed(3)} ms`,
    );
  }
  return rows;
}
