/**
 * How a model instance is sized at load, and the one line that says so. `default`: the core-count
 * rule of the tier (engine-sizing.ts), batching from config.json. `probe`: the model's measured cost
 * on this machine (engine-probe.ts, cached in `probeDir`) through `sizeFromProbe`, with the adaptive
 * queue delay on. Either way what was asked explicitly wins: `workers` / `intraOpThreads` flags, and
 * batching flags; under `probe` a config.json that names preferred batch sizes or a non-zero queue
 * delay keeps them (its values cap the adaptive delay), the probe fills only what it leaves open.
 */
import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../core/model-config.ts';
import type { BatchingOverrides } from './batching-settings.ts';
import { cachedProbe, type ProbeOptions } from './engine-probe.ts';
import { defaultEdgeEngineSizing, defaultEngineSizing, type EngineSizing } from './engine-sizing.ts';
import { type ServingTier, sizeFromProbe } from './probed-sizing.ts';

export const SIZING_MODES = ['probe', 'default'] as const;
export type SizingMode = (typeof SIZING_MODES)[number];

export interface SizingRequest extends BatchingOverrides {
  /** Default `default`: no probe (tests, and whoever asks for the core-count rule). */
  readonly sizing?: SizingMode;
  /** Default `cloud`. */
  readonly tier?: ServingTier;
  /** Where the probe cache lives (the tier's data dir); required for `probe`. */
  readonly probeDir?: string;
  readonly probeOptions?: ProbeOptions;
  readonly workers?: number;
  readonly intraOpThreads?: number;
  /** Default `os.availableParallelism()`. */
  readonly cores?: number;
}

export interface SizingChoice extends EngineSizing {
  readonly batching: BatchingOverrides;
  /** `<model>:<version>: <tier> sizing …`: the choice and why. */
  readonly line: string;
}

export async function chooseSizing(
  config: ModelConfig,
  version: number,
  modelPath: string,
  request: SizingRequest,
): Promise<SizingChoice> {
  const tier = request.tier ?? 'cloud';
  const cores = request.cores ?? availableParallelism();
  const label = `${config.name}:${version}`;
  const asked = [
    request.workers !== undefined && `--workers ${request.workers}`,
    request.intraOpThreads !== undefined && `--intra-op-threads ${request.intraOpThreads}`,
  ].filter(Boolean);
  const overridden = asked.length > 0 ? `; overridden: ${asked.join(', ')}` : '';
  const batching: BatchingOverrides = {
    maxBatchSize: request.maxBatchSize,
    maxQueueDelayMs: request.maxQueueDelayMs,
    maxQueueSize: request.maxQueueSize,
    preferredBatchSizes: request.preferredBatchSizes,
    // Asked for explicitly (a caller that sizes a model itself); `probe` turns it on below.
    ...(request.adaptiveQueueDelay !== undefined && { adaptiveQueueDelay: request.adaptiveQueueDelay }),
  };
  if ((request.sizing ?? 'default') === 'default' || request.probeDir === undefined) {
    const rule =
      tier === 'edge' ? defaultEdgeEngineSizing(cores, request.intraOpThreads) : defaultEngineSizing(cores);
    const workers = request.workers ?? rule.workers;
    const intraOpThreads = request.intraOpThreads ?? rule.intraOpThreads;
    const line = `${label}: ${tier} sizing default (core-count rule, ${cores} cores): ${workers} worker(s) × ${intraOpThreads} thread(s), batching from config.json${overridden}`;
    return { workers, intraOpThreads, batching, line };
  }
  const { probe, cached } = await cachedProbe(request.probeDir, modelPath, config, request.probeOptions);
  const maxBatchSize = request.maxBatchSize ?? config.max_batch_size;
  const sized = sizeFromProbe({ probe, cores, tier, maxBatchSize });
  const db = config.dynamic_batching;
  const probeSource = cached ? 'probe read from the cache' : `probed in ${probe.tookMs} ms`;
  const preferredBatchSizes =
    request.preferredBatchSizes ??
    (db.preferred_batch_size.length > 0 ? db.preferred_batch_size : sized.preferredBatchSizes);
  const maxQueueDelayMs =
    request.maxQueueDelayMs ?? (db.max_queue_delay_ms > 0 ? db.max_queue_delay_ms : sized.maxQueueDelayMs);
  return {
    workers: request.workers ?? sized.workers,
    intraOpThreads: request.intraOpThreads ?? sized.intraOpThreads,
    batching: { ...batching, preferredBatchSizes, maxQueueDelayMs, adaptiveQueueDelay: true },
    line:
      `${label}: ${sized.why} (${probeSource}, ${cores} cores${overridden}); serving preferred ` +
      `[${preferredBatchSizes.join(', ')}], adaptive queue delay ≤ ${maxQueueDelayMs} ms (flags, then config.json, then the probe)`,
  };
}
