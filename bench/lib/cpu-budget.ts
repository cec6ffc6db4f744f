/**
 * CPU per request when server, inference threads and load generator share the cores: a request costing
 * C µs in all allows cores × 10⁶ ÷ C req/s. Parts from the same run: the model at raw speed, a bare
 * server under the same load (the floor), the load generator, and the server's own work (the rest).
 */
import { round } from './stats.ts';

/** Raw samples/s and the threads it kept busy; process CPU per request, µs, of floor, load and server. */
export interface CpuBudgetInput {
  readonly cores: number;
  readonly rawSamplesPerSec: number;
  readonly rawThreads: number;
  readonly floorMicros: number;
  readonly loadMicros: number;
  readonly serverMicros: number;
  /** The target, as a fraction of raw throughput. */
  readonly targetRatio: number;
}

/** µs per request rounded to 0.1 (ratios to 0.001); the ceiling is what a server with no work of its own would reach. */
export function cpuBudget(input: CpuBudgetInput) {
  const { cores, rawSamplesPerSec, targetRatio, floorMicros, loadMicros } = input;
  const modelMicros = (input.rawThreads * 1e6) / rawSamplesPerSec;
  const targetMicros = (cores * 1e6) / (targetRatio * rawSamplesPerSec);
  const cpuCeiling = (cores * 1e6) / (modelMicros + floorMicros + loadMicros);
  // Never above raw itself: there the model's sessions are the limit, not the CPU.
  const ceilingReqPerSec = Math.min(cpuCeiling, rawSamplesPerSec);
  const us = (v: number) => round(v, 1);
  return {
    cores,
    rawSamplesPerSec: us(rawSamplesPerSec),
    modelMicros: us(modelMicros),
    floorMicros: us(floorMicros),
    loadMicros: us(loadMicros),
    ownMicros: us(input.serverMicros - modelMicros - floorMicros),
    targetRatio,
    targetMicros: us(targetMicros),
    /** What is left of the budget for the server's own work once model, floor and load are paid. */
    roomMicros: us(targetMicros - modelMicros - floorMicros - loadMicros),
    ceilingReqPerSec: us(ceilingReqPerSec),
    ceilingRatio: round(ceilingReqPerSec / rawSamplesPerSec),
    ceilingBoundBy: cpuCeiling < rawSamplesPerSec ? ('cpu' as const) : ('model' as const),
  };
}

export type CpuBudget = ReturnType<typeof cpuBudget>;

/** Said after the ceiling ratio when the model, not the CPU, bounds it. */
export function ceilingNote(b: CpuBudget): string {
  return b.ceilingBoundBy === 'model'
    ? " (bound by the model's own speed: the cores would allow more than raw)"
    : '';
}

/** The markdown table of a budget; `parts` names the model, the floor and the server's own work. */
export function budgetTable(b: CpuBudget, parts: { model: string; floor: string; own: string }): string {
  const us = (v: number) => v.toFixed(1);
  return `| part | CPU µs per request |
|---|---:|
| ${parts.model} at raw speed (its threads × 10⁶ ÷ ${b.rawSamplesPerSec.toFixed(0)} samples/s) | ${us(b.modelMicros)} |
| ${parts.floor} | ${us(b.floorMicros)} |
| the load generator (measured against the real server, at that server's rate) | ${us(b.loadMicros)} |
| ${parts.own} | ${us(b.ownMicros)} |
| **budget for ${b.targetRatio} × raw on ${b.cores} cores** (${b.cores} × 10⁶ ÷ (${b.targetRatio} × raw)) | **${us(b.targetMicros)}** |
| room left for the server's own work (budget − model − floor − load) | ${us(b.roomMicros)} |`;
}
