/**
 * Engine sizing and batching from a model's measured cost (`EngineProbe`, engine-probe.ts), the core
 * count and the tier. Pure: the same probe and cores always give the same sizing, so it is tested with
 * fixed probe results for any machine.
 *
 * The rules, each from a measurement (bench/reports/*-16-cores.md):
 * - One core stays with the event loop (HTTP, or the edge's MQTT broker) from 3 cores up; on 2 the
 *   cloud's two single-thread sessions share it (0.81 of raw against 0.49 with one) and the edge runs
 *   one session beside its broker.
 * - Threads per session: the most the probe saw still scaling (parallel efficiency ≥ 0.75 at the
 *   high-load batch) whose sessions fill ≥ 3/4 of the model's cores, with at least two cloud sessions
 *   so one batch forms while another runs. Fat
 *   sessions cut every batch's latency and need fewer, fuller batches: on 16 cores the cloud's 3 × 4
 *   served 6,194–6,858 req/s against 5,132 for 7 × 2.
 * - Sessions: as many as fit the cores, but no more than the event loop can feed. One loop thread
 *   carries at most 10⁶ ÷ (its µs per request) requests/s; sessions past 1.5 × that only split the
 *   queue into smaller batches and cost CPU. On 16 cores the edge peaked at 18.3k req/s (≈ 55 µs of
 *   loop per request) with 2 workers and did worse with 15 (17.2k, 148 µs CPU/req against 131).
 * - Batching (Triton's `preferred_batch_size`, `max_queue_delay_microseconds`): preferred sizes from
 *   the knee (the smallest batch reaching 0.8 of the best per-sample rate) up; the delay cap is one
 *   knee batch's run time: waiting longer than a batch takes never pays.
 */
import { FoglineError } from '../core/errors.ts';
import type { EngineSizing } from './engine-sizing.ts';

/** One probe measurement: a session of `threads` intra-op threads ran `batch` samples in `ms`. */
export interface ProbePoint {
  readonly threads: number;
  readonly batch: number;
  /** Wall time of one run, ms: the fastest of the probe's runs (engine-probe.ts). */
  readonly ms: number;
}

/** What the probe measured of one model version on one machine. */
export interface EngineProbe {
  readonly points: readonly ProbePoint[];
  /** How long the probe took, session starts included. */
  readonly tookMs?: number;
}

export type ServingTier = 'cloud' | 'edge';

export interface ProbedSizing extends EngineSizing {
  readonly preferredBatchSizes: readonly number[];
  /** Cap of the adaptive queue delay. */
  readonly maxQueueDelayMs: number;
  /** One line: the choice and why. */
  readonly why: string;
}

/** µs of event-loop time per request (HTTP + Hono + codec; MQTT broker + fabric), see the header. */
export const LOOP_US_PER_REQUEST: Readonly<Record<ServingTier, number>> = Object.freeze({
  cloud: 100,
  edge: 55,
});
/** Least parallel efficiency for which another intra-op thread per session is worth its core. */
export const MIN_THREAD_EFFICIENCY = 0.75;
/** Least share of the model's cores that whole sessions of the chosen thread count must fill. */
const MIN_CORE_SHARE = 0.75;
/** Model capacity aimed for, as a multiple of what one event loop can feed. */
const LOOP_HEADROOM = 1.5;
/** A batch size is "preferred" from where its per-sample rate reaches this share of the best. */
const KNEE_SHARE = 0.8;

export function sizeFromProbe(input: {
  probe: EngineProbe;
  cores: number;
  tier: ServingTier;
  maxBatchSize: number;
}): ProbedSizing {
  const { probe, tier, maxBatchSize } = input;
  const cores = Math.max(1, Math.floor(input.cores));
  const ms = (t: number, b: number) => probe.points.find((p) => p.threads === t && p.batch === b)?.ms;
  const batches = unique(probe.points.map((p) => p.batch)).filter((b) => b <= maxBatchSize);
  const threadCounts = unique(probe.points.map((p) => p.threads)).filter((t) => ms(t, 1) !== undefined);
  if (batches.length === 0 || !threadCounts.includes(1)) {
    throw new FoglineError(
      'INVALID_ARG',
      'engine probe: needs single-thread points at batch sizes within max_batch_size',
    );
  }
  /** Samples per ms of one session of `t` threads at batch `b`. */
  const rate = (t: number, b: number) => b / (ms(t, b) ?? Number.POSITIVE_INFINITY);
  // Batches of one are no batching: the sizes to batch at are 2 and up (unless the model allows 1).
  const batched = batches.length > 1 ? batches.filter((b) => b > 1) : batches;
  /** The high-load batch: where a single-thread session runs fastest per sample. */
  const high = batched.reduce((a, b) => (rate(1, b) > rate(1, a) ? b : a));

  const modelCores = tier === 'cloud' && cores <= 2 ? cores : Math.max(1, cores - 1);
  const minSessions = tier === 'cloud' && modelCores >= 2 ? 2 : 1;
  let threads = 1;
  for (const t of threadCounts) {
    const efficiency = rate(t, high) / (t * rate(1, high));
    const tiled = Math.floor(modelCores / t) * t >= MIN_CORE_SHARE * modelCores;
    if (t <= modelCores / minSessions && tiled && efficiency >= MIN_THREAD_EFFICIENCY) {
      threads = Math.max(threads, t);
    }
  }
  const fit = Math.max(1, Math.floor(modelCores / threads));
  const loopRatePerMs = 1000 / LOOP_US_PER_REQUEST[tier];
  const fed = Math.max(minSessions, Math.ceil((LOOP_HEADROOM * loopRatePerMs) / rate(threads, high)));
  const workers = Math.min(fit, fed);

  const best = Math.max(...batched.map((b) => rate(threads, b)));
  const knee = batched.find((b) => rate(threads, b) >= KNEE_SHARE * best) ?? high;
  const preferredBatchSizes = batched.filter((b) => b >= knee);
  const maxQueueDelayMs = Math.round((ms(threads, knee) ?? 0) * 100) / 100;
  const bound =
    workers < fit
      ? `the event loop feeds ≈${Math.round(loopRatePerMs * 1000)} req/s, ${workers} session(s) carry ${Math.round(workers * best * 1000)} samples/s`
      : `${workers * threads} of ${cores} cores run the model`;
  const why =
    `${tier} sizing from the probe: ${workers} worker(s) × ${threads} thread(s) (${bound}; ` +
    `${threads} thread(s) at batch ${high}: ${Math.round(rate(threads, high) * 1000)} samples/s per session), ` +
    `preferred batches [${preferredBatchSizes.join(', ')}], queue delay ≤ ${maxQueueDelayMs} ms`;
  return { workers, intraOpThreads: threads, preferredBatchSizes, maxQueueDelayMs, why };
}

function unique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
