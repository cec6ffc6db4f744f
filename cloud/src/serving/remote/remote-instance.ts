/**
 * A loaded model version whose inference runs on its OIP `backend`: the cloud's ModelInstance (its
 * dynamic batcher, statistics and response cache) over the remote engine instead of an onnxruntime
 * pool. Its config was completed from the remote's metadata when its entry was read
 * (remote-metadata.ts), so the remote has answered once before the model is READY.
 */
import { resolveBackendHeaders } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import type { CallBreakerOptions } from '@fogline/shared/resilience';
import { batchingSettings, checkBatchableInputs } from '@fogline/shared/runtime';
import { ModelInstance } from '../model-instance.ts';
import type { ServingOptions } from '../serving-options.ts';
import { createRemoteEngine } from './remote-engine.ts';
import { remoteName } from './remote-metadata.ts';

export interface RemoteServingOptions {
  /** Where `${ENV}` references of backend headers are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The breaker around each remote model's calls; defaults as the edge's (BREAKER_DEFAULTS). */
  readonly breaker?: CallBreakerOptions;
}

export function loadRemoteInstance(
  entry: ModelEntry,
  options: ServingOptions,
  remote: RemoteServingOptions = {},
): ModelInstance {
  const backend = entry.config.backend!;
  // The rule local models load by: the remote's batch dim open, its other dims fixed.
  const { inputs, max_batch_size } = entry.config;
  checkBatchableInputs(entry.name, inputs, max_batch_size, `the metadata of ${remoteName(backend)}`);
  const engine = createRemoteEngine({
    config: entry.config,
    backend,
    headers: resolveBackendHeaders(entry.name, backend, remote.env ?? process.env),
    ...(remote.breaker && { breaker: remote.breaker }),
  });
  // The batch size is the remote's (config.json or its model configuration): the server-wide
  // --max-batch-size is for local models and is not applied here.
  const { maxQueueDelayMs, maxQueueSize, preferredBatchSizes } = options;
  return new ModelInstance({
    entry,
    version: entry.latestVersion,
    engine,
    batching: batchingSettings(entry.config, { maxQueueDelayMs, maxQueueSize, preferredBatchSizes }),
    batchesPerWorker: 1,
    sizingLine: `${entry.name}: forwarded to ${remoteName(backend)}, ${backend.max_connections} connections`,
  });
}
