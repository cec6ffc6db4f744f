/** The rounds, their medians, the targets and the markdown of `npm run bench -- cloud` (bench/cloud.ts). */
import { budgetTable, type CpuBudget, ceilingNote } from '../lib/cpu-budget.ts';
import type { RawPoint } from '../lib/raw-onnx.ts';
import { type Machine, machineLine, table } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import type { HttpFloor } from './floor.ts';

export const MODEL = 'digits-large';
export const MODES = ['binary', 'json'] as const;
export type Mode = (typeof MODES)[number];

export interface GatewayRound {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  meanBatch: number;
  /** Raw figures measured just before this round. */
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
  /** Median of the paired ratios (`efficiency` becomes req/s ÷ the best raw figure of the run). */
  efficiencyPaired?: number;
  rounds: GatewayRound[];
}

/** Median of every figure over the rounds; errors are summed. */
export function summarise(mode: Mode, concurrency: number, rounds: GatewayRound[]): GatewayPoint {
  const m = (key: keyof GatewayRound) => median(rounds.map((r) => r[key]));
  const keys = Object.keys(rounds[0]!) as (keyof GatewayRound)[];
  const medians = Object.fromEntries(keys.map((k) => [k, m(k)])) as unknown as GatewayRound;
  return { ...medians, mode, concurrency, errors: rounds.reduce((a, r) => a + r.errors, 0), rounds };
}

interface CloudReport {
  at: string;
  command: string;
  machine: Machine;
  gatewayEngine: { workers: number; intraOpThreads: number };
  method: { rounds: number; secondsPerRound: number };
  rawBest: RawPoint & { intraOpThreads: number };
  gateway: GatewayPoint[];
  floor: HttpFloor;
  budget: CpuBudget;
}

function targets(r: CloudReport): string {
  const at = (mode: Mode, c: number) => r.gateway.find((g) => g.mode === mode && g.concurrency === c)!;
  const row = (name: string, value: number, goal: string, met: boolean) =>
    `${name} | ${value.toFixed(3)} | ${goal} | ${met ? 'yes' : '**no**'}`;
  const [binary64, json64] = [at('binary', 64).efficiency, at('json', 64).efficiency];
  const [binary1, json1] = [at('binary', 1).addedP50Ms, at('json', 1).addedP50Ms];
  return table('target | measured | goal | met', [
    row('binary c=64 efficiency', binary64, '≥ 0.9', binary64 >= 0.9),
    row('JSON c=64 efficiency', json64, '≥ 0.6', json64 >= 0.6),
    row('binary c=1 added p50 ms', binary1, '≤ 0.5', binary1 <= 0.5),
    row('JSON c=1 added p50 ms', json1, '≤ 0.5', json1 <= 0.5),
  ]);
}

export function markdown(r: CloudReport): string {
  const { floor, budget: b } = r;
  const f = (x: number, d = 2) => x.toFixed(d);
  const row = (g: GatewayPoint) =>
    `${g.mode} | ${g.concurrency} | ${f(g.reqPerSec, 0)} | ${f(g.p50Ms)} | ${f(g.p99Ms)} | ${f(g.meanBatch, 1)} | ${f(g.rawBestSamplesPerSec, 0)} | ${f(g.efficiency)} | ${f(g.efficiencyPaired ?? g.efficiency)} | ${f(g.rawSingleP50Ms)} | ${g.concurrency === 1 ? f(g.addedP50Ms) : '–'} | ${f(g.gatewayCpuMicros, 0)} | ${f(g.loadCpuMicros, 0)} | ${g.errors}`;
  return `# Cloud gateway benchmark (${MODEL})

${machineLine(r.at, r.machine)} · command: \`${r.command}\`

Raw limit: one onnxruntime-node session, ${r.rawBest.intraOpThreads} intra-op thread(s), batch ${r.rawBest.batch}: ${f(r.rawBest.samplesPerSec, 0)} samples/s (best of the sweep over batch 1…64 and 1…cores threads). Gateway: ${r.gatewayEngine.workers} worker(s) × ${r.gatewayEngine.intraOpThreads} intra-op thread(s), API-key auth on, single-sample requests from the load generator in its own process (bench/load, keep-alive). Each row is the median of ${r.method.rounds} rounds of ${r.method.secondsPerRound} s, every round paired with a raw measurement taken just before it (the machine is shared and noisy). Efficiency is req/s ÷ the best raw figure of the whole run (the box's limit; conservative), the paired ratio alongside; added p50 = gateway p50 − raw 1-sample p50.

${table(
  "mode | concurrency | req/s | p50 ms | p99 ms | mean batch | raw samples/s (paired) | efficiency (vs run's best raw) | efficiency (vs paired raw) | raw 1-sample p50 ms | added p50 ms | gateway CPU µs/req | load CPU µs/req | errors",
  r.gateway.map(row),
)}

${targets(r)}

**Where the CPU goes** (binary, concurrency 64). The load generator shares the ${b.cores} cores with the gateway, so every request's CPU counts wherever it is spent: each process's CPU time (all its threads) over a round ÷ its requests. The floor (bench/cloud/floor.ts): a bare \`node:http\` server that reads each body and answers the gateway's own response bytes, under the same load: ${f(floor.reqPerSec, 0)} req/s, ${f(floor.serverCpuMicros, 1)} µs CPU per request in the server, ${f(floor.loadCpuMicros, 1)} µs in the load process (at that rate).

${budgetTable(b, {
  model: MODEL,
  floor: 'a bare Node HTTP server',
  own: 'the gateway on top of bare HTTP (Hono, auth, token bucket, decode, validation, batching at its real batch sizes, worker hop, encode)',
})}

A gateway with no work of its own (model at raw speed + bare HTTP + this load generator) would reach **${f(b.ceilingRatio)} of raw** here${ceilingNote(b)}.
`;
}
