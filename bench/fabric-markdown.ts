/** bench/reports/fabric.md from a fabric report: machine and models, targets, then one section per part. */
import { type ResolvedPolicy, TIERS, type Tier } from '@fogline/shared';
import { budgetTable, ceilingNote } from './cpu-budget.ts';
import {
  type CascadeSection,
  type FabricReport,
  ms,
  pct,
  type Target,
  type ThroughputSection,
  type TransportRow,
} from './fabric-report.ts';

const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Thresholds fitted by calibration have many digits; four significant ones are enough to read. */
const threshold = (t: number) => String(Number(t.toPrecision(4)));
const policy = (p: ResolvedPolicy) => `${p.score} ≥ ${threshold(p.threshold)}`;
const counts = (f: Record<string, number>) =>
  Object.entries(f)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '0';

function header(r: FabricReport): string {
  const m = r.machine;
  const model = (t: Tier) => {
    const x = r.models[t];
    const value =
      x.routing.threshold === null
        ? `null → uncalibrated ${threshold(x.effectiveThreshold)}`
        : threshold(x.routing.threshold);
    return `- ${t}: \`${x.name}:${x.version}\` (sha256 ${x.sha256}…) — ${x.description}; routing ${x.routing.score}, threshold ${value}`;
  };
  return `# Fabric benchmark: device → edge → cloud

${r.at} · ${m.cores} cores (${m.cpu}) · ${m.platform} · Node ${m.node} · load average ${m.loadavgStart.join(' ')} at start, ${m.loadavgEnd.join(' ')} at end · the run took ${r.durationSec} s

Command: \`${r.command}\`. Everything on 127.0.0.1 in one run: the devices in a child process (\`bench/fabric-devices.ts\`), the edge agents and the cloud gateway in the bench process. This machine has ${m.cores} cores shared with other work, so timings are noisy.

Models, copied from the model repository at the start of the run (thresholds as their configs say; \`null\` → \`UNCALIBRATED_THRESHOLDS\`):
${(['device', 'edge', 'cloud'] as const).map(model).join('\n')}

Edge agent: embedded broker, ${r.settings.edgeWorkers} inference worker(s) × ${r.settings.edgeIntraOpThreads} intra-op thread(s), batching from the model config. **The per-device publish rate limit is raised to ${r.settings.publishRate.ratePerSec}/s (burst ${r.settings.publishRate.burst})** with the broker's \`publishRate\` option (\`localBroker.publishRate\` of \`createEdgeAgent\`, \`--device-publish-rate\` of \`fogline edge\`; default 50/s, burst 100); otherwise a single device at concurrency 1 would be throttled. Request deadline ${r.settings.deadlineMs} ms.`;
}

function targetsSection(targets: Target[]): string {
  return `## Targets

${table(
  ['target', 'measured', 'goal', 'met'],
  targets.map((t) => [t.name, t.value, t.goal, t.met ? 'yes' : '**no**']),
)}`;
}

function transportSection(r: FabricReport, rows: TransportRow[]): string {
  return `## 1. Transport overhead (device → edge → device over loopback MQTT)

Real SDK devices (\`connectDevice\`: tiny model, QoS 1) forced to escalate (policy ${policy({ score: 'entropy', threshold: 1 })}: normalised-entropy confidence is 1 only for an exactly one-hot softmax; thresholds above 1 are refused), the edge forced to answer (threshold 0, no cloud). Concurrency 1 = one device, one request at a time; 64 = 64 devices, one request each in flight; ${r.settings.seconds} s each. **Overhead = device-measured total − tiny-model time − the reply's \`edge_ms\`** (edge receipt → answer ready: queue + batch + model): MQTT both ways, the broker, encoding and decoding, the SDK. "vs raw" subtracts the raw single-sample ${r.models.edge.name} latency instead (p50 ${ms(r.raw.single.p50Ms, 3)} ms, this run), so it also counts batching and the worker-thread hop. All times in ms.

${table(
  [
    'concurrency',
    'requests',
    'req/s',
    'total p50',
    'total p99',
    'tiny p50',
    'edge_ms p50',
    'overhead p50',
    'overhead p99',
    'vs raw p50',
    'vs raw p99',
    'not via edge',
  ],
  rows.map((t) => [
    t.concurrency,
    t.requests,
    t.reqPerSec.toFixed(0),
    ms(t.total.p50Ms),
    ms(t.total.p99Ms),
    ms(t.device.p50Ms, 3),
    ms(t.edge.p50Ms, 3),
    ms(t.overhead.p50Ms, 3),
    ms(t.overhead.p99Ms, 3),
    ms(t.overheadVsRawSingle.p50Ms, 3),
    ms(t.overheadVsRawSingle.p99Ms, 3),
    t.notAnsweredByEdge,
  ]),
)}`;
}

function throughputSection(r: FabricReport, section: ThroughputSection): string {
  const { raw } = r;
  const { rows, floor, floorWithoutCoalescing: perPacket, budget } = section;
  const heaviest = rows[rows.length - 1]!;
  return `## 2. Edge throughput on ${r.models.edge.name}

Raw onnxruntime-node with the session settings of the edge's workers (${raw.sessions} session(s) × ${raw.intraOpThreads} intra-op thread(s), one inter-op thread, no spinning), each in a worker thread; best of batch 1…64: **${raw.best.samplesPerSec.toFixed(0)} samples/s** at batch ${raw.best.batch}.

${table(
  ['batch', ...raw.points.map((p) => String(p.batch))],
  [
    ['samples/s', ...raw.points.map((p) => p.samplesPerSec.toFixed(0))],
    ['run p50 ms', ...raw.points.map((p) => ms(p.run.p50Ms, 3))],
  ],
)}

The edge agent under closed-loop load from lean MQTT clients in the device process (bench/fabric-mqtt-load.ts: raw sockets, pre-encoded single-digit requests, QoS 1 both ways, TCP_NODELAY), answering everything itself; 1 s warm-up, then ${r.settings.seconds} s measured. Each load runs ${r.settings.throughputRounds} rounds, each paired with a raw measurement at batch ${raw.best.batch} taken just before it (same moment, same background load); the row is the round with the median req/s. Its ratio is taken against the best raw figure of the whole run (${heaviest.rawLimitSamplesPerSec.toFixed(0)} samples/s, the box's limit: conservative, since a paired raw run caught by a burst of background load would flatter the edge); the median of the paired ratios is given alongside. CPU per request is each process's CPU time (all its threads) over the round ÷ its requests; reads and writes per request are the edge process's read and write syscalls (/proc/self/io: its sockets, and the eventfd wake-ups between the event loop and the inference worker):

${table(
  [
    'concurrency',
    'clients',
    'req/s',
    'ratio (vs best raw)',
    'ratio (vs paired raw, median)',
    'paired ratios of all rounds',
    'p50 ms',
    'p99 ms',
    'edge CPU µs/req',
    'load CPU µs/req',
    'edge reads / writes per req',
    'errors',
  ],
  rows.map((t) => [
    t.concurrency,
    t.clients,
    t.reqPerSec.toFixed(0),
    t.ratio.toFixed(2),
    t.ratioPaired.toFixed(2),
    t.rounds.map((x) => x.ratio.toFixed(2)).join(' '),
    ms(t.latency.p50Ms),
    ms(t.latency.p99Ms),
    t.cpuMicrosPerRequest.edgeProcess.toFixed(1),
    t.cpuMicrosPerRequest.loadProcess.toFixed(1),
    `${t.edgeSyscallsPerRequest.reads ?? '–'} / ${t.edgeSyscallsPerRequest.writes ?? '–'}`,
    counts(t.errors),
  ]),
)}

**Where the CPU goes.** The devices share this machine's ${budget.cores} cores with the edge, so every request's CPU counts, wherever it is spent. The floor (bench/fabric-floor.ts): a bare Aedes broker whose only work is to echo each request's id back to its reply topic, under the same load (concurrency ${floor.concurrency}): ${floor.reqPerSec.toFixed(0)} req/s, ${floor.brokerCpuMicros.toFixed(1)} µs CPU per request in the broker, ${floor.loadCpuMicros.toFixed(1)} µs in the load process${Object.keys(floor.errors).length ? ` (errors ${counts(floor.errors)})` : ''}, ${floor.brokerWritesPerRequest ?? '–'} write syscalls per request in the broker. The same broker writing each packet on its own, as Aedes does by default (no per-turn write coalescing): ${perPacket.reqPerSec.toFixed(0)} req/s, ${perPacket.brokerCpuMicros.toFixed(1)} µs CPU and ${perPacket.brokerWritesPerRequest ?? '–'} writes per request in the broker, ${perPacket.loadCpuMicros.toFixed(1)} µs in the load process. Per request at concurrency ${heaviest.concurrency}, against the best raw figure of the run:

${budgetTable(budget, {
  model: 'the edge model',
  floor: 'a bare MQTT broker (Aedes, echo only)',
  own: 'fogline edge on top of the broker (decode, validation, batching, worker hop, score, encode, ACL, rate limit)',
})}

An edge with no work of its own (model at raw speed + bare broker + this load generator) would reach ${budget.ceilingReqPerSec.toFixed(0)} req/s here, **${budget.ceilingRatio.toFixed(2)} of raw**${ceilingNote(budget)}. Derived, not measured: with the devices on other hosts (as on a real LAN) the same ${budget.cores} cores would carry ${budget.cores} × 10⁶ ÷ ${heaviest.cpuMicrosPerRequest.edgeProcess.toFixed(1)} µs = ${((budget.cores * 1e6) / heaviest.cpuMicrosPerRequest.edgeProcess).toFixed(0)} req/s of this edge (${((budget.cores * 1e6) / heaviest.cpuMicrosPerRequest.edgeProcess / budget.rawSamplesPerSec).toFixed(2)} of raw), if its event loop (one core) kept up.`;
}

function cascadeSection(r: FabricReport, c: CascadeSection): string {
  return `## 3. Cascade on the test split (${c.rows[0]?.count ?? 0} digits)

Device policy ${policy(c.devicePolicy)}, edge policy ${policy(c.edgePolicy)}. Latency: end to end as the device measured it (tiny model, plus the escalation if any); ${r.settings.cascadeConcurrency} device(s) × 1 request in flight. The always-cloud row goes through the fabric (device and edge forced to escalate), so its latency includes the tiny and mid runs. In the always-edge and always-cloud runs every request escalates right after the previous reply; the oracle takes its per-sample latencies from those runs.

${table(
  ['strategy', 'accuracy', 'device', 'edge', 'cloud', 'mean ms', 'p99 ms', 'degraded', 'fallbacks'],
  c.rows.map((x) => [
    x.name,
    pct(x.accuracy, 2),
    pct(x.share.device),
    pct(x.share.edge),
    pct(x.share.cloud),
    ms(x.latency.meanMs),
    ms(x.latency.p99Ms),
    x.degraded,
    counts(x.fallbacks),
  ]),
)}

Latency by the tier that answered (mean / p99 ms):

${table(
  ['strategy', 'device', 'edge', 'cloud'],
  c.rows.map((x) => [
    x.name,
    ...TIERS.map((t) =>
      x.latencyByTier[t].count === 0
        ? '–'
        : `${ms(x.latencyByTier[t].meanMs)} / ${ms(x.latencyByTier[t].p99Ms)}`,
    ),
  ]),
)}

How each row was obtained:
${c.rows.map((x) => `- ${x.name}: ${x.method}`).join('\n')}

Checks: offline accuracy on the test split — ${(['device', 'edge', 'cloud'] as const)
    .map((t) => `${r.models[t].name} ${pct(c.offlineAccuracy[t], 2)}`)
    .join(
      ', ',
    )}. The cascade's policies replayed on the offline logits: accuracy ${pct(c.replay.accuracy, 2)}, device / edge / cloud ${pct(c.replay.share.device)} / ${pct(c.replay.share.edge)} / ${pct(c.replay.share.cloud)}. Edge telemetry after the cascade run: \`${JSON.stringify(c.edgeTelemetry?.counts ?? {})}\`.`;
}

export function renderMarkdown(r: FabricReport, targets: Target[]): string {
  const parts = [header(r), targetsSection(targets)];
  if (r.transport) parts.push(transportSection(r, r.transport));
  if (r.throughput) parts.push(throughputSection(r, r.throughput));
  if (r.cascade) parts.push(cascadeSection(r, r.cascade));
  return `${parts.join('\n\n')}\n`;
}
