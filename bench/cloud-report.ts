/** Shapes, medians and the markdown of `npm run bench -- cloud` (bench/cloud.ts). */
import { budgetSection, type HttpFloor } from './cloud-floor.ts';
import type { CpuBudget } from './cpu-budget.ts';

export const MODEL = 'digits-large';
export const MODES = ['binary', 'json'] as const;
export type Mode = (typeof MODES)[number];

export interface RawPoint {
  intraOpThreads: number;
  batch: number;
  samplesPerSec: number;
  p50Ms: number;
}

export interface GatewayRound {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  meanBatch: number;
  rawBestSamplesPerSec: number;
  rawSingleP50Ms: number;
  efficiency: number;
  addedP50Ms: number;
  /** CPU per request, µs: this process (gateway and its workers) and the load process. */
  gatewayCpuMicros: number;
  loadCpuMicros: number;
}

export interface GatewayPoint extends GatewayRound {
  mode: Mode;
  concurrency: number;
  /** Median over the rounds of req/s ÷ the raw figure measured just before each (`efficiency` is
   * req/s ÷ the best raw figure of the whole run, the box's limit). */
  efficiencyPaired?: number;
  rounds: GatewayRound[];
}

export const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
export const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** Median of every figure over the rounds (each round's efficiency used its own raw figure). */
export function summarise(mode: Mode, concurrency: number, rounds: GatewayRound[]): GatewayPoint {
  const m = (f: (r: GatewayRound) => number) => median(rounds.map(f));
  return {
    mode,
    concurrency,
    reqPerSec: m((r) => r.reqPerSec),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    meanBatch: m((r) => r.meanBatch),
    rawBestSamplesPerSec: m((r) => r.rawBestSamplesPerSec),
    rawSingleP50Ms: m((r) => r.rawSingleP50Ms),
    efficiency: m((r) => r.efficiency),
    addedP50Ms: m((r) => r.addedP50Ms),
    gatewayCpuMicros: m((r) => r.gatewayCpuMicros),
    loadCpuMicros: m((r) => r.loadCpuMicros),
    rounds,
  };
}

/** The markdown report (exported so a saved cloud.json can be re-rendered). */
export function markdown(r: {
  date: string;
  machine: { cores: number; cpu: string; loadavgAtEnd: number[] };
  gatewayEngine: { workers: number; intraOpThreads: number };
  method: { rounds: number; secondsPerRound: number };
  rawBest: RawPoint;
  gateway: GatewayPoint[];
  floor?: HttpFloor;
  budget?: CpuBudget;
  targets: Record<string, { value: number; target: number; met: boolean }>;
}): string {
  const rows = r.gateway.map(
    (g) =>
      `| ${g.mode} | ${g.concurrency} | ${g.reqPerSec.toFixed(0)} | ${g.p50Ms.toFixed(2)} | ${g.p99Ms.toFixed(2)} | ${g.meanBatch.toFixed(1)} | ${g.rawBestSamplesPerSec.toFixed(0)} | ${g.efficiency.toFixed(2)} | ${(g.efficiencyPaired ?? g.efficiency).toFixed(2)} | ${g.rawSingleP50Ms.toFixed(2)} | ${g.concurrency === 1 ? g.addedP50Ms.toFixed(2) : '–'} | ${g.gatewayCpuMicros.toFixed(0)} | ${g.loadCpuMicros.toFixed(0)} | ${g.errors} |`,
  );
  const t = r.targets;
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return [
    `# Cloud gateway benchmark (${MODEL})`,
    '',
    `${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · load average at end ${r.machine.loadavgAtEnd.map((l) => l.toFixed(1)).join(' ')} · command: \`npm run bench -- cloud\``,
    '',
    `Raw limit: one onnxruntime-node session, ${r.rawBest.intraOpThreads} intra-op thread(s), batch ${r.rawBest.batch} (best of the sweep over batch 1…64 and 1…cores threads). ` +
      `Gateway: ${r.gatewayEngine.workers} worker(s) × ${r.gatewayEngine.intraOpThreads} intra-op thread(s), API-key auth on, single-sample requests from a separate load process over keep-alive. ` +
      `Each row is the median of ${r.method.rounds} rounds of ${r.method.secondsPerRound} s; every round is paired with a raw measurement taken just before it (the machine is shared and noisy). Efficiency is req/s ÷ the best raw figure of the whole run (the box's limit; conservative), the paired ratio alongside.`,
    '',
    "| mode | concurrency | req/s | p50 ms | p99 ms | mean batch | raw best samples/s (paired) | efficiency (vs the run's best raw) | efficiency (vs paired raw) | raw 1-sample p50 ms | added p50 ms | gateway CPU µs/req | load CPU µs/req | errors |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ...(r.floor && r.budget ? [budgetSection(r.floor, r.budget), ''] : []),
    `Targets: binary c=64 efficiency ${t.binaryC64Efficiency!.value.toFixed(4)} ≥ 0.9 (${mark(t.binaryC64Efficiency!.met)}); ` +
      `JSON c=64 ${t.jsonC64Efficiency!.value.toFixed(4)} ≥ 0.6 (${mark(t.jsonC64Efficiency!.met)}); ` +
      `c=1 added p50 binary ${t.binaryC1AddedP50Ms!.value.toFixed(4)} ms, JSON ${t.jsonC1AddedP50Ms!.value.toFixed(4)} ms ≤ 0.5 ms ` +
      `(${mark(t.binaryC1AddedP50Ms!.met)} / ${mark(t.jsonC1AddedP50Ms!.met)}).`,
    '',
  ].join('\n');
}
