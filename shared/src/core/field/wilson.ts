/**
 * Confidence intervals for a proportion measured in the field (docs/field-accuracy.md): the Wilson
 * score interval (Wilson 1927), which stays inside [0, 1] and keeps its coverage near 0 and 1 where
 * the normal approximation fails, and its weighted form for records sampled with probability p
 * (weight 1/p), on Kish's effective sample size.
 */
import { FoglineError } from '../errors.ts';

/** Two-sided 95 %: the 0.975 quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

/**
 * The normal quantile z for a two-sided interval at `confidence` (0 < confidence < 1): Φ⁻¹((1 + c)/2),
 * by Acklam's rational approximation (relative error < 1.2e-9); exactly Z_95 at 0.95.
 */
export function zForConfidence(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) {
    throw new FoglineError('INVALID_ARG', `confidence must be in (0, 1), got ${confidence}`);
  }
  if (confidence === 0.95) return Z_95;
  return normalQuantile((1 + confidence) / 2);
}

const ACKLAM_A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const ACKLAM_B = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
];
const ACKLAM_C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

const poly = (k: readonly number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);

/** Φ⁻¹(p) for 0 < p < 1 (Acklam). */
function normalQuantile(p: number): number {
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(ACKLAM_C, q) / (poly(ACKLAM_D, q) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (poly(ACKLAM_A, r) * q) / (poly(ACKLAM_B, r) * r + 1);
}

export interface ProportionInterval {
  /** The point estimate (weighted share of successes); NaN when there are no records. */
  readonly estimate: number;
  /** Wilson bounds at the requested confidence; [0, 1] when there are no records. */
  readonly low: number;
  readonly high: number;
  /** Records counted. */
  readonly n: number;
  /** Kish effective sample size (Σw)² / Σw²; equals n when all weights are equal. */
  readonly nEff: number;
}

/** One record's outcome and weight (1/p for a record kept with probability p). */
export interface WeightedOutcome {
  readonly success: boolean;
  readonly weight: number;
}

function checkZ(z: number): void {
  if (!Number.isFinite(z) || z <= 0) throw new FoglineError('INVALID_ARG', `wilson: z must be > 0, got ${z}`);
}

/**
 * Wilson bounds for an observed share `pHat` over `n` (possibly effective, non-integer) records:
 * (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
 */
export function wilsonBounds(pHat: number, n: number, z: number = Z_95): { low: number; high: number } {
  checkZ(z);
  if (!(pHat >= 0 && pHat <= 1))
    throw new FoglineError('INVALID_ARG', `wilson: share must be in [0, 1], got ${pHat}`);
  if (!(n >= 0) || !Number.isFinite(n))
    throw new FoglineError('INVALID_ARG', `wilson: n must be >= 0, got ${n}`);
  if (n === 0) return { low: 0, high: 1 };
  const z2n = (z * z) / n;
  const centre = pHat + z2n / 2;
  const half = z * Math.sqrt((pHat * (1 - pHat)) / n + z2n / (4 * n));
  const denominator = 1 + z2n;
  // Clamped: rounding can leave 1e-17 outside [0, 1] at p̂ = 0 or 1.
  return {
    low: Math.max(0, (centre - half) / denominator),
    high: Math.min(1, (centre + half) / denominator),
  };
}

/** The Wilson interval for k successes out of n records (k, n integers, 0 ≤ k ≤ n). */
export function wilsonInterval(k: number, n: number, z: number = Z_95): ProportionInterval {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k) || k < 0 || k > n) {
    throw new FoglineError('INVALID_ARG', `wilson: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  }
  const estimate = n === 0 ? Number.NaN : k / n;
  return { estimate, ...wilsonBounds(n === 0 ? 0 : estimate, n, z), n, nEff: n };
}

/**
 * The weighted Wilson interval: p̂ = Σw·success / Σw, bounds on Kish's effective sample size, so
 * records kept at different rates (weight 1/p) count as much as the information they carry.
 */
export function weightedWilsonInterval(
  outcomes: Iterable<WeightedOutcome>,
  z: number = Z_95,
): ProportionInterval {
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  let successes = 0;
  for (const o of outcomes) {
    if (!Number.isFinite(o.weight) || o.weight <= 0) {
      throw new FoglineError('INVALID_ARG', `wilson: weights must be finite and > 0, got ${o.weight}`);
    }
    n++;
    sum += o.weight;
    sumSquares += o.weight * o.weight;
    if (o.success) successes += o.weight;
  }
  if (n === 0) return { estimate: Number.NaN, low: 0, high: 1, n: 0, nEff: 0 };
  const estimate = Math.min(1, successes / sum);
  const nEff = (sum * sum) / sumSquares;
  return { estimate, ...wilsonBounds(estimate, nEff, z), n, nEff };
}
