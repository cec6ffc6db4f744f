/**
 * The gateway side of `npm run bench -- cloud`: request bodies, and one round of load paired with raw
 * onnxruntime measured just before it (the best configuration, and batch 1 like a gateway worker).
 */
import { join } from 'node:path';
import { binaryInferRequest, digits, jsonInferBody } from '@fogline/cloud/testing';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { RawBaseline } from '../lib/raw-onnx.ts';
import { median } from '../lib/stats.ts';
import { type HttpLoadPlan, runLoad } from '../load/run-load.ts';
import type { InferFloor } from './floor.ts';

export const MODEL = 'digits-large';
export const MODES = ['binary', 'json'] as const;
export type Mode = (typeof MODES)[number];
export const MODEL_PATH = join(DEFAULT_MODELS_DIR, MODEL, '1', 'model.onnx');

/** Single-digit request bodies (base64) with their headers, 64 different digits. */
export function requestBodies(mode: Mode) {
  const { images } = digits(64);
  return Array.from({ length: 64 }, (_, i) => {
    const image = images.slice(i * 784, (i + 1) * 784);
    const { body, headers } =
      mode === 'json'
        ? { body: jsonInferBody(image), headers: { 'content-type': 'application/json' } }
        : binaryInferRequest(image);
    return { base64: Buffer.from(body).toString('base64'), headers };
  });
}

/**
 * Raw (best configuration, and batch 1 like a gateway worker) just before, then the gateway; then,
 * with `floor` (binary, concurrency 1), the bare server that runs the model itself (floor.ts).
 */
export async function gatewayRound(
  plan: HttpLoadPlan,
  rawBest: RawBaseline,
  bestBatch: number,
  rawSingle: RawBaseline,
  floor?: InferFloor,
) {
  const rawPaired = await rawBest.measure(bestBatch, 600);
  const rawSingleP50Ms = (await rawSingle.single(400)).p50Ms;
  const cpu = process.cpuUsage();
  const load = await runLoad(plan);
  const spent = process.cpuUsage(cpu);
  const floorP50Ms = floor ? await floor.round(plan) : Number.NaN;
  const reqPerSec = load.completed / load.seconds;
  return {
    reqPerSec,
    p50Ms: load.latency.p50Ms,
    p99Ms: load.latency.p99Ms,
    errors: Object.values(load.errors).reduce((a, b) => a + b, 0),
    rawBestSamplesPerSec: rawPaired.samplesPerSec,
    rawSingleP50Ms,
    efficiencyPaired: reqPerSec / rawPaired.samplesPerSec,
    addedP50Ms: load.latency.p50Ms - rawSingleP50Ms,
    /** What the bare server that runs the model itself adds (NaN where not measured). */
    floorAddedP50Ms: floorP50Ms - rawSingleP50Ms,
    /** CPU per request, µs: this process (gateway and its workers) and the load process. */
    gatewayCpuMicros: (spent.user + spent.system) / Math.max(1, load.total),
    loadCpuMicros: load.cpuMicrosPerRequest,
  };
}

type GatewayRound = Awaited<ReturnType<typeof gatewayRound>>;
export type GatewayPoint = ReturnType<typeof summarise>;

/** Median of every figure over the rounds (errors summed); `efficiency` is set once the run's limit is known. */
export function summarise(mode: Mode, concurrency: number, rounds: GatewayRound[]) {
  const keys = Object.keys(rounds[0]!) as (keyof GatewayRound)[];
  const medians = Object.fromEntries(keys.map((k) => [k, median(rounds.map((r) => r[k]))])) as GatewayRound;
  const errors = rounds.reduce((a, r) => a + r.errors, 0);
  return { ...medians, mode, concurrency, errors, efficiency: Number.NaN, rounds };
}
