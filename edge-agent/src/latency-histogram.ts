/**
 * A fixed-bucket latency histogram (Prometheus style: cumulative-free counts per upper bound, plus
 * sum and count), cheap enough to update on every request and small enough to publish as telemetry.
 */
import { FoglineError } from '@fogline/shared';

export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
]);

export interface HistogramSnapshot {
  /** Upper bounds (ms) of the buckets; the last count is everything above the last bound. */
  readonly boundsMs: readonly number[];
  /** counts[i] = samples in (boundsMs[i-1], boundsMs[i]]; counts[bounds.length] = samples above. */
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumMs: number;
}

export class LatencyHistogram {
  private readonly counts: number[];
  private count = 0;
  private sumMs = 0;
  private readonly boundsMs: readonly number[];

  /** `boundsMs`: finite, non-negative, strictly increasing upper bounds (copied). */
  constructor(boundsMs: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS) {
    const valid =
      boundsMs.length > 0 &&
      boundsMs.every((b, i) => Number.isFinite(b) && b >= 0 && (i === 0 || b > boundsMs[i - 1]!));
    if (!valid) {
      throw new FoglineError(
        'INVALID_ARG',
        `histogram bounds must be finite, non-negative and strictly increasing, got [${boundsMs.join(', ')}]`,
      );
    }
    this.boundsMs = Object.freeze([...boundsMs]);
    this.counts = new Array<number>(boundsMs.length + 1).fill(0);
  }

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    let i = 0;
    while (i < this.boundsMs.length && ms > this.boundsMs[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
  }

  /** Upper bound of the bucket holding quantile q (0..1); Infinity when it lies above the last bound. */
  quantileUpperBoundMs(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new FoglineError('INVALID_ARG', `quantile must be in [0, 1], got ${q}`);
    if (this.count === 0) return 0;
    // 1-based rank of the sample; the tolerance keeps 0.55 × 100 = 55.00000000000001 at rank 55.
    const rank = Math.max(1, Math.ceil(q * this.count * (1 - 1e-12)));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return this.boundsMs[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }

  snapshot(): HistogramSnapshot {
    return { boundsMs: [...this.boundsMs], counts: [...this.counts], count: this.count, sumMs: this.sumMs };
  }
}
