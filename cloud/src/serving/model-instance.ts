/**
 * A model version as the gateway serves it: the shared model instance (workers behind the dynamic
 * batcher, `@fogline/shared/runtime`) plus what only the gateway needs, its request statistics, the
 * codec bounds of requests to it, and its share of the response cache. Loaded with
 * `ModelInstance.load(entry, version, options)`; a reload builds a new one and swaps it in
 * (model-server.ts).
 *
 * `infer` is the one serve path of the cloud: HTTP infer (clients and edges escalating) and the
 * devices with no edge on the cloud broker (DirectDeviceServer) both call it, so both are answered
 * from the response cache when the model enables it.
 */
import type { CodecLimits } from '@fogline/shared';
import {
  type InferItem,
  ModelInstance as RuntimeModelInstance,
  type TensorMap,
} from '@fogline/shared/runtime';
import { codecLimitsFor, RequestHeaderMemo } from './infer-input.ts';
import { ReplyHeaderMemo } from './infer-response.ts';
import { RequestStats } from './request-stats.ts';
import type { ResponseCache, ResponseCachePartition } from './response-cache.ts';

export class ModelInstance extends RuntimeModelInstance {
  readonly requests = new RequestStats();
  /** Codec bounds for requests to this version (see codecLimitsFor). */
  readonly codecLimits: Partial<CodecLimits> = codecLimitsFor(this.config, this.batching.maxBatchSize);
  /** This version's last all-binary request header (infer-input.ts). */
  readonly requestHeader = new RequestHeaderMemo();
  /** This version's last all-binary reply header (infer-response.ts). */
  readonly replyHeader = new ReplyHeaderMemo();
  private cached?: ResponseCachePartition;
  /** The answers `infer` took from the cache (each a fresh copy), for `answeredFromCache`. */
  private readonly hits = new WeakSet<TensorMap>();

  /** Whether requests to this version are answered from the response cache. */
  get cachesResponses(): boolean {
    return this.cached !== undefined;
  }

  /**
   * Answers from `cache` from now on, when this version's config enables it (`response_cache`) and
   * the cache has room (`--response-cache-mb` > 0); otherwise does nothing. Called once, before the
   * version serves.
   */
  useResponseCache(cache: ResponseCache): void {
    if (this.config.response_cache?.enable !== true || !cache.enabled || this.cached) return;
    this.cached = cache.partition(this.name, this.version, this.config);
  }

  /**
   * A cached answer when there is one (no batcher, no worker); otherwise the batcher's, which is
   * then cached. Each lookup counts as `cache_hit` or `cache_miss` in the statistics, with its time
   * (a hit: hashing and copying out; a miss: hashing and storing), as Triton counts them.
   */
  override infer(item: InferItem): Promise<TensorMap> {
    const cached = this.cached;
    if (!cached) return super.infer(item);
    const started = performance.now();
    const key = cached.keyOf(item);
    const hit = cached.get(key);
    if (hit) {
      this.requests.recordCacheLookup(true, performance.now() - started);
      this.hits.add(hit);
      return Promise.resolve(hit);
    }
    const lookupMs = performance.now() - started;
    return super.infer(item).then(
      (outputs) => {
        const storing = performance.now();
        // Retired meanwhile: its entries are gone and must stay gone.
        if (this.cached === cached) cached.set(key, outputs);
        this.requests.recordCacheLookup(false, lookupMs + performance.now() - storing);
        return outputs;
      },
      (err: unknown) => {
        this.requests.recordCacheLookup(false, lookupMs);
        throw err;
      },
    );
  }

  /**
   * Whether `outputs`, an answer of `infer`, came from the cache: Triton counts a hit in `cache_hit`
   * only, not in `compute_input` or `compute_output` (statistics extension).
   */
  answeredFromCache(outputs: TensorMap): boolean {
    return this.hits.has(outputs);
  }

  /** Stops answering from the cache and drops this version's entries, then retires the workers. */
  override async retire(): Promise<void> {
    const cached = this.cached;
    this.cached = undefined;
    cached?.drop();
    await super.retire();
  }
}
