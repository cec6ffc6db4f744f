/**
 * Activation range estimators for static quantization: min-max (the whole observed range) and
 * percentile (clip the extreme tails, from a histogram over the min-max range).
 */

export type CalibrationMethod = 'minmax' | 'percentile';

export interface TensorRange {
  readonly min: number;
  readonly max: number;
}

export class MinMaxObserver {
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  observe(values: Float32Array): void {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.lo = lo;
    this.hi = hi;
  }

  range(): TensorRange {
    return this.lo <= this.hi ? { min: this.lo, max: this.hi } : { min: 0, max: 0 };
  }
}

/** Fixed-bin histogram over a known [min, max] (the min-max pass gives the bounds). */
export class HistogramObserver {
  private readonly counts: Float64Array;
  private total = 0;
  private readonly width: number;

  constructor(
    private readonly min: number,
    private readonly max: number,
    bins = 2048,
  ) {
    this.counts = new Float64Array(bins);
    this.width = max > min ? (max - min) / bins : 1;
  }

  observe(values: Float32Array): void {
    const last = this.counts.length - 1;
    for (let i = 0; i < values.length; i++) {
      const b = Math.floor((values[i]! - this.min) / this.width);
      this.counts[Math.min(last, Math.max(0, b))]!++;
    }
    this.total += values.length;
  }

  /** The value below which a fraction q of the observations lie (linear within a bin). */
  quantile(q: number): number {
    if (this.total === 0 || !(this.max > this.min)) return this.min;
    const target = Math.min(1, Math.max(0, q)) * this.total;
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      const c = this.counts[b]!;
      if (seen + c >= target && c > 0) return this.min + (b + (target - seen) / c) * this.width;
      seen += c;
    }
    return this.max;
  }

  /** [quantile(1 − p), quantile(p)] for p = percentile / 100, e.g. 99.99. */
  range(percentile: number): TensorRange {
    const p = percentile / 100;
    return { min: this.quantile(1 - p), max: this.quantile(p) };
  }
}
