/** bench/reports/stitched.md: the rounds of the stitched bench summed up per target, and its targets. */

import { machineLine, ms, type Target, table, target, targetsTable } from '../lib/report.ts';
import { type LatencySummary, median, round } from '../lib/stats.ts';
import type { StitchedReport } from '../stitched.ts';

export const TARGETS = [
  'fogline edge',
  'stitched',
  'fogline edge on Mosquitto',
  'bare Aedes echo',
  "bare Aedes echo at the edge's rate",
] as const;

/** One round of one target under the load: what the load saw, and CPU per request (µs). */
export interface TargetRound {
  readonly target: (typeof TARGETS)[number];
  readonly reqPerSec: number;
  readonly latency: LatencySummary;
  /** The serving side: the edge process (+ Mosquitto's on Mosquitto); subscriber + Mosquitto; the echo broker. */
  readonly serverCpuMicros: number;
  readonly loadCpuMicros: number;
  readonly errors: Record<string, number>;
  readonly parts?: { readonly subscriberCpuMicros: number; readonly brokerCpuMicros: number };
  readonly meanBatch?: number;
  /** Edge rounds: the model alone's CPU per sample (µs) at this round's mean batch, measured right after it. */
  readonly modelMicros?: number;
  /** 1-based. */
  readonly round?: number;
  /** The box's 1-minute load average at the round's end (other work shares this machine). */
  readonly loadAverage?: number;
}

const pick = (rounds: readonly TargetRound[], f: (r: TargetRound) => number | undefined) => {
  // A round with no answer has no latency (null in the load's JSON): left out.
  const values = rounds.map(f).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length > 0 ? round(median(values), 2) : undefined;
};

/** Medians over the rounds per target, paired ratios (edge ÷ stitched in the same round) and the targets. */
export function summarizeRounds(rounds: readonly TargetRound[], modelMicros: number) {
  // Without Mosquitto (--no-mosquitto) only the edge and the echo rows run.
  const ran = TARGETS.filter((name) => rounds.some((r) => r.target === name));
  const rows = ran.map((name) => {
    const of = rounds.filter((r) => r.target === name);
    const errors = of.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
    return {
      target: name,
      reqPerSec: pick(of, (r) => r.reqPerSec)!,
      p50Ms: pick(of, (r) => r.latency.p50Ms)!,
      p99Ms: pick(of, (r) => r.latency.p99Ms)!,
      serverCpuMicros: pick(of, (r) => r.serverCpuMicros)!,
      loadCpuMicros: pick(of, (r) => r.loadCpuMicros)!,
      subscriberCpuMicros: pick(of, (r) => r.parts?.subscriberCpuMicros),
      brokerCpuMicros: pick(of, (r) => r.parts?.brokerCpuMicros),
      meanBatch: pick(of, (r) => r.meanBatch),
      errors,
    };
  });
  const row = (name: (typeof TARGETS)[number]) => rows.find((r) => r.target === name);
  const edge = row('fogline edge')!;
  const stitched = row('stitched');
  const floor = row("bare Aedes echo at the edge's rate")!;
  const paired = (f: (r: TargetRound) => number) => {
    const e = rounds.filter((r) => r.target === 'fogline edge');
    const s = rounds.filter((r) => r.target === 'stitched');
    return s.length === 0 ? undefined : round(median(e.map((r, i) => f(r) / f(s[i]!))), 3);
  };
  // The model's own CPU per sample: at the batch the edge ran in each round (measured right after
  // it), and, as reported before 2026-12-06 evening, at the model's best batch (64) once per run.
  const edgeRounds = rounds.filter((r) => r.target === 'fogline edge');
  const modelAt = (r: TargetRound) => r.modelMicros ?? modelMicros;
  const modelAtBatchMicros = round(median(edgeRounds.map(modelAt)), 1);
  const edgeOwnMicros = round(edge.serverCpuMicros - modelAtBatchMicros, 1);
  const edgeOwnAtBestMicros = round(edge.serverCpuMicros - modelMicros, 1);
  // Per round: the edge's own CPU over the echo's at the same rate, in that round.
  const echoes = rounds.filter((r) => r.target === "bare Aedes echo at the edge's rate");
  const ownVsEcho = (model: (r: TargetRound) => number) =>
    round(median(edgeRounds.map((r, i) => (r.serverCpuMicros - model(r)) / echoes[i]!.serverCpuMicros)), 2);
  const ratios = {
    reqPerSec: paired((r) => r.reqPerSec),
    p50: paired((r) => r.latency.p50Ms),
    p99: paired((r) => r.latency.p99Ms),
    /** The edge's CPU per request past the model's own (raw, at the edge's mean batch), over the bare echo's. */
    ownCpuVsEcho: ownVsEcho(modelAt),
    /** The same with the model's CPU at its best batch (the figure reported before). */
    ownCpuVsEchoAtBestBatch: ownVsEcho(() => modelMicros),
    cpuVsStitched: stitched ? round(edge.serverCpuMicros / stitched.serverCpuMicros, 2) : undefined,
  };
  const vsStitched = (name: string, ratio: number | undefined, goal: string, met: (r: number) => boolean) =>
    ratio === undefined
      ? target(name, 'not measured (--no-mosquitto)', goal, false)
      : target(name, ratio.toFixed(2), goal, met(ratio));
  const targets: Target[] = [
    vsStitched('req/s, fogline edge ÷ stitched (paired, median)', ratios.reqPerSec, '≥ 1', (r) => r >= 1),
    vsStitched('p50, fogline edge ÷ stitched', ratios.p50, '≤ 1', (r) => r <= 1),
    vsStitched('p99, fogline edge ÷ stitched', ratios.p99, '≤ 1', (r) => r <= 1),
    target(
      "edge CPU per request past the model ÷ bare Aedes echo at the edge's rate (paired, median)",
      `${edgeOwnMicros} ÷ ${floor.serverCpuMicros} µs (medians); paired ${ratios.ownCpuVsEcho.toFixed(2)} (model at its best batch: ${edgeOwnAtBestMicros} µs, paired ${ratios.ownCpuVsEchoAtBestBatch.toFixed(2)})`,
      '≤ 1.5',
      ratios.ownCpuVsEcho <= 1.5,
    ),
  ];
  return { rows, modelAtBatchMicros, edgeOwnMicros, edgeOwnAtBestMicros, ratios, targets, rounds };
}

const ROUND_HEAD =
  'round | target | req/s | p50 ms | p99 ms | serving CPU µs/req | model µs/sample at its mean batch | load average';
const roundRow = (r: TargetRound) =>
  `${r.round} | ${r.target} | ${r.reqPerSec.toFixed(0)} | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p99Ms)} | ${r.serverCpuMicros.toFixed(1)} | ${r.modelMicros === undefined ? '–' : `${r.modelMicros.toFixed(1)} (batch ${Math.round(r.meanBatch ?? 0)})`} | ${r.loadAverage ?? '–'}`;

const HEAD = 'target | req/s | p50 ms | p99 ms | serving CPU µs/req | load CPU µs/req | mean batch | errors';
const row = (r: StitchedReport['rows'][number]) => {
  const parts =
    r.subscriberCpuMicros === undefined
      ? ''
      : ` (subscriber ${r.subscriberCpuMicros}, Mosquitto ${r.brokerCpuMicros})`;
  return `${r.target} | ${r.reqPerSec.toFixed(0)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.serverCpuMicros.toFixed(1)}${parts} | ${r.loadCpuMicros.toFixed(1)} | ${r.meanBatch ?? '–'} | ${r.errors}`;
};

const NO_MOSQUITTO =
  '- **stitched** and **fogline edge on Mosquitto**: not run (`--no-mosquitto`: no Mosquitto on this machine), so neither are the targets against the stitched pair.';

function mosquittoRows(r: StitchedReport): string {
  const s = r.settings;
  return `- **stitched**: the local Mosquitto (${s.broker}, no auth) + one MQTT.js subscriber process (bench/stitched/subscriber.ts) running the same model file with onnxruntime-node (${s.stitchedThreads === 0 ? "onnxruntime's default session options" : `${s.stitchedThreads} intra-op thread(s)`}), batching what arrived during the previous run (up to max_batch_size), replying on each request's \`reply_to\` in the same frame format. CPU: the subscriber plus Mosquitto's process (/proc; Mosquitto is shared with other work on this box, so its share is an upper bound).
- **fogline edge on Mosquitto** (diagnostic, no target): the same agent with \`localBroker: external\` on the same Mosquitto, so the broker's work moves out of the edge's event loop as in the stitched pair; auth and ACL are then Mosquitto's (none here), buckets, deadlines and the breaker stay on. CPU: the edge process plus Mosquitto's.`;
}

export function renderMarkdown(r: StitchedReport): string {
  const s = r.settings;
  return `# Stitched benchmark: fogline's edge against Mosquitto + an MQTT.js subscriber

${machineLine(r.at, r.machine)}

Command: \`${r.command}\`. One load generator (bench/load/mqtt.ts, in its own process: ${s.concurrency / (s.concurrency / 64)} lean MQTT devices × ${s.concurrency / 64} requests in flight = **${s.concurrency} in flight**, QoS 1, fogline frames, deadline 1000 ms) drives, in alternating rounds of ${s.seconds} s (1 s warm-up) on the same box, ${s.rounds} rounds each:

- **fogline edge**: \`digits-mid-int8\` on the agent with its embedded broker and everything it adds on: device auth (token hashes) and the ACL, the per-device publish bucket (raised to 100000/s so it never refuses: it is still checked per message), request deadlines, and a cloud tier with its circuit breaker, pointed at nothing (${'`http://127.0.0.1:1`'}) with routing threshold 0. So, like the stitched subscriber, it answers every request itself: both do the same work per request, and no escalation can time out. Sizing: ${r.sizing}.
${s.broker === null ? NO_MOSQUITTO : mosquittoRows(r)}
- **bare Aedes echo** (bench/fabric/floor.ts): the floor — a broker that only echoes each request's id, as fast as the load goes (closed loop).
- **bare Aedes echo at the edge's rate**: the same echo with the load paced at the requests per second the fogline edge reached in the same round: "under the same load" for the CPU target (a broker's CPU per request falls as its rate rises: more packets per write and per wake-up).

Figures are medians over the rounds; ratios are fogline ÷ stitched within each round (median). The model alone with the edge's session settings (${s.workers} × ${s.intraOpThreads} thread(s), no spinning) runs ${r.raw.best.samplesPerSec.toFixed(0)} samples/s at batch ${r.raw.best.batch}: ${r.modelMicros} µs CPU per sample. The edge runs smaller batches (its mean batch below), where a sample costs the model more, so after each edge round the model alone runs again at that round's mean batch (1 s, same background load): **${r.modelAtBatchMicros} µs CPU per sample** (median), subtracted from the edge's CPU for the echo target. The figure at the best batch, which the target used until 2026-12-06, stays alongside.

## Targets

${targetsTable(r.targets)}

## Per target

${table(HEAD, r.rows.map(row))}

Edge CPU per request past the model: ${r.rows[0]!.serverCpuMicros.toFixed(1)} − ${r.modelAtBatchMicros} = ${r.edgeOwnMicros} µs at the edge's mean batch (${r.rows[0]!.serverCpuMicros.toFixed(1)} − ${r.modelMicros} = ${r.edgeOwnAtBestMicros} µs at the model's best batch)${r.ratios.cpuVsStitched === undefined ? '' : `; the edge's whole process against the stitched pair: ×${r.ratios.cpuVsStitched}`}.

## Rounds

${table(ROUND_HEAD, r.rounds.map(roundRow))}
`;
}
