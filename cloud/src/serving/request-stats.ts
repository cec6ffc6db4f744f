/**
 * Per-version request counters for the statistics extension: end-to-end time of answered requests,
 * and the gateway's own work on each one, as Triton names it: `compute_input` (decoding the body and
 * checking it against the model, the copy-in), `compute_output` (encoding the response), and
 * `cache_hit` / `cache_miss` (lookups in a response cache; zero while a model has none).
 */
export interface DurationCounter {
  count: number;
  ms: number;
}

export class RequestStats {
  successCount = 0;
  successMs = 0;
  failCount = 0;
  failMs = 0;
  /** Wall-clock time (ms since epoch) of the last answered request; 0 = never. */
  lastInferenceAt = 0;
  readonly computeInput: DurationCounter = { count: 0, ms: 0 };
  readonly computeOutput: DurationCounter = { count: 0, ms: 0 };
  readonly cacheHit: DurationCounter = { count: 0, ms: 0 };
  readonly cacheMiss: DurationCounter = { count: 0, ms: 0 };

  record(ok: boolean, durationMs: number, now: number = Date.now()): void {
    if (ok) {
      this.successCount++;
      this.successMs += durationMs;
    } else {
      this.failCount++;
      this.failMs += durationMs;
    }
    this.lastInferenceAt = now;
  }

  /** A successful request's decode (`inputMs`) and encode (`outputMs`) time. */
  recordCompute(inputMs: number, outputMs: number): void {
    this.computeInput.count++;
    this.computeInput.ms += inputMs;
    this.computeOutput.count++;
    this.computeOutput.ms += outputMs;
  }

  /** One response-cache lookup: a hit (answered from the cache) or a miss, and its time. */
  recordCacheLookup(hit: boolean, ms: number): void {
    const counter = hit ? this.cacheHit : this.cacheMiss;
    counter.count++;
    counter.ms += ms;
  }
}
