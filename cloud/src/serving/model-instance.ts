/**
 * A model version as the gateway serves it: the shared model instance (workers behind the dynamic
 * batcher, `@fogline/shared/runtime`) plus what only the gateway needs, its request statistics and
 * the codec bounds of requests to it. Loaded with `ModelInstance.load(entry, version, options)`; a
 * reload builds a new one and swaps it in (model-server.ts).
 */
import type { CodecLimits } from '@fogline/shared';
import { ModelInstance as RuntimeModelInstance } from '@fogline/shared/runtime';
import { codecLimitsFor } from './infer-input.ts';
import { RequestStats } from './request-stats.ts';

export class ModelInstance extends RuntimeModelInstance {
  readonly requests = new RequestStats();
  /** Codec bounds for requests to this version (see codecLimitsFor). */
  readonly codecLimits: Partial<CodecLimits> = codecLimitsFor(this.config, this.batching.maxBatchSize);
}
