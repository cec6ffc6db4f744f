/** bench/reports/fabric.md, and the targets checked against a fabric report. */

import { type ResolvedPolicy, TIERS, type Tier } from '@fogline/shared';
import type { FabricReport } from '../fabric.ts';
import { budgetTable, ceilingNote } from '../lib/cpu-budget.ts';
import { machineLine, ms, pct, type Target, table, target, targetsTable } from '../lib/report.ts';
import type { CascadeRow } from './cascade.ts';
import type { CascadeSection } from './cascade-run.ts';
import type { ThroughputSection } from './throughput.ts';
import type { TransportRow } from './transport.ts';

export function evaluateTargets(r: FabricReport): Target[] {
  const targets: Target[] = [];
  const c1 = r.transport?.find((t) => t.concurrency === 1);
  if (c1) {
    const p50 = c1.overhead.p50Ms;
    targets.push(target('transport overhead p50 at concurrency 1', `${ms(p50, 3)} ms`, '≤ 1 ms', p50 <= 1));
  }
  if (r.throughput) {
    const best = Math.max(...r.throughput.rows.map((t) => t.ratioVsLimit));
    const name = 'edge throughput / raw onnxruntime batched (best concurrency)';
    targets.push(target(name, best.toFixed(2), '≥ 0.70', best >= 0.7));
  }
  const cascade = r.cascade?.rows.find((x) => x.name === 'fogline cascade');
  const cloud = r.cascade?.rows.find((x) => x.name === 'always-cloud');
  if (cascade && cloud) {
    const lossPp = 100 * (cloud.accuracy - cascade.accuracy);
    const loss = `${lossPp > 0 ? '−' : '+'}${Math.abs(lossPp).toFixed(2)} pp`;
    const value = `${pct(cascade.accuracy, 2)} vs ${pct(cloud.accuracy, 2)} (${loss})`;
    const share = cascade.share.cloud;
    targets.push(
      target('cascade accuracy vs always-cloud', value, '≥ always-cloud − 0.3 pp', lossPp <= 0.3),
      target('cascade share reaching the cloud', pct(share), '≤ 15 %', share <= 0.15),
    );
  }
  return targets;
}

/** Thresholds fitted by calibration have many digits; four significant ones are enough to read. */
const threshold = (t: number) => String(Number(t.toPrecision(4)));
const policy = (p: ResolvedPolicy) => `${p.score} ≥ ${threshold(p.threshold)}`;
const counts = (f: Record<string, number>) =>
  Object.entries(f)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '0';
const us = (x: number) => x.toFixed(1);
const TRANSPORT_HEAD =
  'concurrency | requests | req/s | total p50 | total p99 | tiny p50 | edge_ms p50 | overhead p50 | overhead p99 | not via edge';
const THROUGHPUT_HEAD =
  'concurrency | req/s | ratio (vs best raw) | ratio (vs paired raw, median) | p50 ms | p99 ms | edge CPU µs/req | load CPU µs/req | errors';
const CASCADE_HEAD = 'strategy | accuracy | device | edge | cloud | mean ms | p99 ms | degraded';

const transportRow = (t: TransportRow) =>
  `${t.concurrency} | ${t.requests} | ${t.reqPerSec.toFixed(0)} | ${ms(t.total.p50Ms)} | ${ms(t.total.p99Ms)} | ${ms(t.device.p50Ms, 3)} | ${ms(t.edge.p50Ms, 3)} | ${ms(t.overhead.p50Ms, 3)} | ${ms(t.overhead.p99Ms, 3)} | ${t.notAnsweredByEdge}`;
const throughputRow = (t: ThroughputSection['rows'][number]) =>
  `${t.concurrency} | ${t.reqPerSec.toFixed(0)} | ${t.ratioVsLimit.toFixed(2)} | ${t.ratioPaired.toFixed(2)} | ${ms(t.latency.p50Ms)} | ${ms(t.latency.p99Ms)} | ${us(t.cpuMicrosPerRequest.edgeProcess)} | ${us(t.cpuMicrosPerRequest.loadProcess)} | ${counts(t.errors)}`;
const cascadeRow = (x: CascadeRow) =>
  `${x.name} | ${pct(x.accuracy, 2)} | ${pct(x.share.device)} | ${pct(x.share.edge)} | ${pct(x.share.cloud)} | ${ms(x.latency.meanMs)} | ${ms(x.latency.p99Ms)} | ${x.degraded}`;

function header(r: FabricReport, targets: Target[]): string {
  const model = (t: Tier) => {
    const x = r.models[t];
    const th = x.routing.threshold;
    const value = th === null ? `null → uncalibrated ${threshold(x.effectiveThreshold)}` : threshold(th);
    return `- ${t}: \`${x.name}:${x.version}\`; routing ${x.routing.score}, threshold ${value}`;
  };
  const s = r.settings;
  return `# Fabric benchmark: device → edge → cloud

${machineLine(r.at, r.machine)} · the run took ${r.durationSec} s

Command: \`${r.command}\`. Everything on 127.0.0.1 in one run: the SDK devices and the lean MQTT devices, both driven by the load generator (\`bench/load\`) in a child process, the edge agents and the cloud gateway in the bench process. The ${r.machine.cores} cores are shared with other work, so timings are noisy; the figures that matter are ratios to raw onnxruntime measured in the same run.

Models, copied from the model repository at the start of the run (thresholds as their configs say; \`null\` → \`UNCALIBRATED_THRESHOLDS\`):
${TIERS.map(model).join('\n')}

Edge agent: embedded broker, ${s.workers} inference worker(s) × ${s.intraOpThreads} intra-op thread(s) (\`--sizing ${s.sizing ?? 'default'}\`), batching from the model config, request deadline ${s.deadlineMs} ms. **The per-device publish rate limit is raised to ${s.publishRate.ratePerSec}/s (burst ${s.publishRate.burst})** with the broker's \`publishRate\` option (\`--device-publish-rate\` of \`fogline edge\`; default 50/s, burst 100); otherwise a single device at concurrency 1 would be throttled.

## Targets

${targetsTable(targets)}`;
}

function transportSection(r: FabricReport, rows: TransportRow[]): string {
  return `## 1. Transport overhead (device → edge → device over loopback MQTT)

Real SDK devices (\`connectDevice\`: tiny model, QoS 1) forced to escalate (policy entropy ≥ 1), the edge forced to answer (threshold 0, no cloud). Concurrency 1 = one device, one request at a time; 64 = 64 devices, one request each in flight; ${r.settings.seconds} s each. **Overhead = device-measured total − tiny-model time − the reply's \`edge_ms\`** (edge receipt → answer ready): MQTT both ways, the broker, encoding and decoding, the SDK. Times in ms.

${table(TRANSPORT_HEAD, rows.map(transportRow))}`;
}

function throughputSection(r: FabricReport, section: ThroughputSection): string {
  const { raw } = r;
  const { rows, floor, budget: b } = section;
  const top = rows[rows.length - 1]!;
  const lanReqPerSec = (b.cores * 1e6) / top.cpuMicrosPerRequest.edgeProcess;
  const floorErrors = Object.keys(floor.errors).length ? ` (errors ${counts(floor.errors)})` : '';
  return `## 2. Edge throughput on ${r.models.edge.name}

Raw onnxruntime-node with the session settings of the edge's workers (${raw.sessions} session(s) × ${raw.intraOpThreads} intra-op thread(s), one inter-op thread, no spinning), each in its own process; best of batch 1…64: **${raw.best.samplesPerSec.toFixed(0)} samples/s** at batch ${raw.best.batch}.

The edge under closed-loop load from the load generator's lean MQTT devices (bench/load/mqtt.ts: one socket each, pre-encoded single-digit requests, QoS 1 both ways), answering everything itself; 1 s warm-up, then ${r.settings.seconds} s measured. Each load runs ${r.settings.throughputRounds} rounds, each paired with a raw run at batch ${raw.best.batch} just before it; the row is the round with the median req/s, its ratio taken against the best raw figure of the whole run (${section.rawLimitSamplesPerSec.toFixed(0)} samples/s, the box's limit: conservative), the median paired ratio alongside. CPU per request: each process's CPU time (all threads) over the round ÷ its requests.

${table(THROUGHPUT_HEAD, rows.map(throughputRow))}

**Where the CPU goes.** The load shares the ${b.cores} cores with the edge, so every request's CPU counts wherever it is spent. The floor (bench/fabric/floor.ts): a bare Aedes broker whose only work is to echo each request's id back to its reply topic, under the same load (concurrency ${floor.concurrency}): ${floor.reqPerSec.toFixed(0)} req/s, ${us(floor.brokerCpuMicros)} µs CPU per request in the broker (writes coalesced per turn, as fogline's broker does), ${us(floor.loadCpuMicros)} µs in the load process${floorErrors}. Per request at concurrency ${top.concurrency}, against the best raw figure of the run:

${budgetTable(b, {
  model: 'the edge model',
  floor: 'a bare MQTT broker (Aedes, echo only)',
  own: 'fogline edge on top of the broker (decode, validation, batching, worker hop, score, encode, ACL, rate limit)',
})}

An edge with no work of its own (model at raw speed + bare broker + this load generator) would reach ${b.ceilingReqPerSec.toFixed(0)} req/s here, **${b.ceilingRatio.toFixed(2)} of raw**${ceilingNote(b)}. Derived, not measured: with the devices on other hosts the same ${b.cores} cores would carry ${b.cores} × 10⁶ ÷ ${us(top.cpuMicrosPerRequest.edgeProcess)} µs = ${lanReqPerSec.toFixed(0)} req/s of this edge (${(lanReqPerSec / b.rawSamplesPerSec).toFixed(2)} of raw), if its event loop (one core) kept up.`;
}

function cascadeSection(r: FabricReport, c: CascadeSection): string {
  return `## 3. Cascade on the test split (${c.rows[0]?.count ?? 0} digits)

Device policy ${policy(c.devicePolicy)}, edge policy ${policy(c.edgePolicy)}. Latency: end to end as the device measured it (tiny model, plus the escalation if any); ${r.settings.cascadeConcurrency} device(s) × 1 request in flight. The always-cloud row goes through the fabric (device and edge forced to escalate), so its latency includes the tiny and mid runs; the oracle takes its per-sample latencies from the always-<tier> runs.

${table(CASCADE_HEAD, c.rows.map(cascadeRow))}

Measured rows: SDK devices → edge (always-device: device threshold 0; always-edge: device forced to escalate, edge threshold 0) → cloud gateway (always-cloud: device and edge forced to escalate; cascade: the policies of the model configs). The oracle is computed from each model's offline predictions.`;
}

export function renderMarkdown(r: FabricReport, targets: Target[]): string {
  const parts = [header(r, targets)];
  if (r.transport) parts.push(transportSection(r, r.transport));
  if (r.throughput) parts.push(throughputSection(r, r.throughput));
  if (r.cascade) parts.push(cascadeSection(r, r.cascade));
  return `${parts.join('\n\n')}\n`;
}
