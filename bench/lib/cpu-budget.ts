/**
 * CPU per request on a machine whose cores are shared by the server, its inference threads and the
 * load generator (benchmarks `cloud` and `fabric`): with every core busy, a request costing C µs of
 * CPU in all allows cores × 10⁶ ÷ C requests/s, so a throughput target is a CPU budget per request.
 * The parts come from measurements of the same run: the model at raw speed (its threads × 10⁶ ÷ raw
 * samples/s), a bare server doing no work of its own under the same load (the floor), the load
 * generator as measured against the real server (its cost per request depends on the rate), and the
 * real server's process CPU; what that has beyond model and floor is the server's own work.
 */
import { round } from './stats.ts';

export interface CpuBudgetInput {
  readonly cores: number;
  /** Raw onnxruntime samples/s and the threads it kept busy to get them. */
  readonly rawSamplesPerSec: number;
  readonly rawThreads: number;
  /** The bare server's process CPU per request. */
  readonly floorMicros: number;
  /** The load process's CPU per request, against the real server. */
  readonly loadMicros: number;
  /** The real server's process CPU per request (its inference threads included). */
  readonly serverMicros: number;
  /** The target, as a fraction of raw throughput. */
  readonly targetRatio: number;
}

/** µs of CPU per request, rounded to 0.1 µs (ratios to 0.001). */
export interface CpuBudget {
  readonly cores: number;
  readonly rawSamplesPerSec: number;
  readonly modelMicros: number;
  readonly floorMicros: number;
  readonly loadMicros: number;
  /** The real server beyond the model at raw speed and the bare floor: its own work. */
  readonly ownMicros: number;
  readonly targetRatio: number;
  /** All parts together may cost at most this for `targetRatio` × raw. */
  readonly targetMicros: number;
  /** What is left of the budget for the server's own work once model, floor and load are paid. */
  readonly roomMicros: number;
  /**
   * A server with no work of its own (model + floor + load only) would reach this: what the cores
   * allow, but never more than raw itself (the model's sessions are then the limit, not the CPU).
   */
  readonly ceilingReqPerSec: number;
  readonly ceilingRatio: number;
  /** What bounds the ceiling: the shared cores, or the model's own speed (raw). */
  readonly ceilingBoundBy: 'cpu' | 'model';
}

export function cpuBudget(input: CpuBudgetInput): CpuBudget {
  const { cores, rawSamplesPerSec, targetRatio } = input;
  const modelMicros = (input.rawThreads * 1e6) / rawSamplesPerSec;
  const targetMicros = (cores * 1e6) / (targetRatio * rawSamplesPerSec);
  const cpuCeiling = (cores * 1e6) / (modelMicros + input.floorMicros + input.loadMicros);
  const ceilingReqPerSec = Math.min(cpuCeiling, rawSamplesPerSec);
  const us = (v: number) => round(v, 1);
  return {
    cores,
    rawSamplesPerSec: us(rawSamplesPerSec),
    modelMicros: us(modelMicros),
    floorMicros: us(input.floorMicros),
    loadMicros: us(input.loadMicros),
    ownMicros: us(input.serverMicros - modelMicros - input.floorMicros),
    targetRatio,
    targetMicros: us(targetMicros),
    roomMicros: us(targetMicros - modelMicros - input.floorMicros - input.loadMicros),
    ceilingReqPerSec: us(ceilingReqPerSec),
    ceilingRatio: round(ceilingReqPerSec / rawSamplesPerSec),
    ceilingBoundBy: cpuCeiling < rawSamplesPerSec ? 'cpu' : 'model',
  };
}

/** Said after the ceiling ratio when the model, not the CPU, bounds it. */
export function ceilingNote(b: CpuBudget): string {
  return b.ceilingBoundBy === 'model'
    ? " (bound by the model's own speed: the cores would allow more than raw)"
    : '';
}

/** The markdown table of a budget; `parts` names the model, the floor and the server's own work. */
export function budgetTable(
  b: CpuBudget,
  parts: { readonly model: string; readonly floor: string; readonly own: string },
): string {
  const us = (v: number) => v.toFixed(1);
  return [
    '| part | CPU µs per request |',
    '|---|---:|',
    `| ${parts.model} at raw speed (its threads × 10⁶ ÷ ${b.rawSamplesPerSec.toFixed(0)} samples/s) | ${us(b.modelMicros)} |`,
    `| ${parts.floor} | ${us(b.floorMicros)} |`,
    "| the load generator (measured against the real server, at that server's rate) | " +
      `${us(b.loadMicros)} |`,
    `| ${parts.own} | ${us(b.ownMicros)} |`,
    `| **budget for ${b.targetRatio} × raw on ${b.cores} cores** (${b.cores} × 10⁶ ÷ (${b.targetRatio} × raw)) | **${us(b.targetMicros)}** |`,
    `| room left for the server's own work (budget − model − floor − load) | ${us(b.roomMicros)} |`,
  ].join('\n');
}
