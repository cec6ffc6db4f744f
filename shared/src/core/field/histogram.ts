/**
 * Score histograms on fixed bins and the population stability index (docs/field-accuracy.md
 * "Drift"). The bins of a model version are cut at quantiles of a reference sample (its routing
 * scores on the calibration split), so each holds about the same share of it; a live window's
 * histogram on the same bins is then compared with the reference by PSI.
 */
import { FoglineError } from '../errors.ts';

/** Bins per reference histogram unless told otherwise (deciles). */
export const DEFAULT_BIN_COUNT = 10;

/** Floor for a bin's share in PSI, so an empty bin costs a large but finite amount. */
export const PSI_EPSILON = 1e-4;

/**
 * The PSI past which a window counts as drifted. The usual reading: < 0.1 stable, 0.1–0.25 a
 * moderate shift, > 0.25 a large one. 0.2, in the upper half of the moderate band: in-distribution
 * 500-record windows of digits read 0.02–0.09 (the top one a window of only three classes), the
 * shifts we measured 0.2–4 (docs/field-accuracy.md "Drift").
 */
export const PSI_ALARM = 0.2;

export type PsiReading = 'stable' | 'moderate' | 'shifted';

/** The conventional reading of a PSI value. */
export function readPsi(value: number): PsiReading {
  return value < 0.1 ? 'stable' : value <= 0.25 ? 'moderate' : 'shifted';
}

/**
 * Bin edges from the quantiles of `sample`: `range[0]`, the interior cuts, `range[1]`, strictly
 * increasing, at most `bins` bins. Each cut lies halfway between two adjacent distinct sample values
 * (the bin below holds values < cut, the bin above values ≥ cut), moved to the nearer end of a run
 * of ties when a quantile falls inside one, so a point mass (margin exactly 1, a score of 0) fills one
 * bin of its own and no bin of the sample is empty or duplicated; such a sample gets fewer bins.
 */
export function quantileEdges(
  sample: ArrayLike<number>,
  bins: number = DEFAULT_BIN_COUNT,
  range: readonly [number, number] = [0, 1],
): number[] {
  const [lo, hi] = range;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new FoglineError('INVALID_ARG', `histogram: bins must be an integer >= 1, got ${bins}`);
  }
  if (!(lo < hi))
    throw new FoglineError('INVALID_ARG', `histogram: range must be [low < high], got [${lo}, ${hi}]`);
  if (sample.length === 0) throw new FoglineError('INVALID_ARG', 'histogram: the reference sample is empty');
  const sorted = Float64Array.from(sample).sort();
  const n = sorted.length;
  if (!(sorted[0]! >= lo && sorted[n - 1]! <= hi)) {
    // NaN sorts last, so it fails here too.
    throw new FoglineError('INVALID_ARG', `histogram: sample values must lie in [${lo}, ${hi}]`);
  }
  // Positions j in 1..n−1 where sorted[j−1] < sorted[j]: the places a cut can go.
  const cuts: number[] = [];
  let previous = 0;
  for (let i = 1; i < bins; i++) {
    const j = nearestBoundary(sorted, Math.round((i * n) / bins));
    if (j === undefined || j <= previous) continue;
    const cut = cutBetween(sorted[j - 1]!, sorted[j]!);
    // Only where the two values are adjacent floats at the top of the range: no room for a bin.
    if (cut >= hi) continue;
    previous = j;
    cuts.push(cut);
  }
  return [lo, ...cuts, hi];
}

/** The position nearest to j (in 1..n−1) between two distinct sorted values; undefined if all are equal. */
function nearestBoundary(sorted: Float64Array, j: number): number | undefined {
  const n = sorted.length;
  const isBoundary = (k: number) => k >= 1 && k <= n - 1 && sorted[k - 1]! < sorted[k]!;
  for (let d = 0; d < n; d++) {
    if (isBoundary(j - d)) return j - d;
    if (isBoundary(j + d)) return j + d;
  }
  return undefined;
}

/** Halfway between a < b, or b itself where a and b are adjacent floats. */
function cutBetween(a: number, b: number): number {
  const mid = a + (b - a) / 2;
  return mid > a && mid < b ? mid : b;
}

/** The bin of a value: edges[i] ≤ v < edges[i+1]; values below or above the edges fall in the outer bins. */
export function binOf(value: number, edges: readonly number[]): number {
  if (Number.isNaN(value)) throw new FoglineError('INVALID_ARG', 'histogram: a score is NaN');
  let low = 0;
  let high = edges.length - 2;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (value >= edges[mid]!) low = mid;
    else high = mid - 1;
  }
  return low;
}

function checkEdges(edges: readonly number[]): void {
  if (edges.length < 2 || edges.some((e, i) => !Number.isFinite(e) || (i > 0 && e <= edges[i - 1]!))) {
    throw new FoglineError('INVALID_ARG', 'histogram: edges must be >= 2 strictly increasing finite numbers');
  }
}

/** Counts of `scores` per bin of `edges` (edges.length − 1 bins). */
export function histogram(scores: Iterable<number>, edges: readonly number[]): number[] {
  checkEdges(edges);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const s of scores) counts[binOf(s, edges)]!++;
  return counts;
}

/** Counts (or weights) as shares summing to 1. */
export function fractionsOf(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.some((c) => !(c >= 0) || !Number.isFinite(c)) || !(total > 0)) {
    throw new FoglineError('INVALID_ARG', 'histogram: counts must be finite, >= 0 and not all 0');
  }
  return counts.map((c) => c / total);
}

/**
 * Population stability index Σ (oᵢ − eᵢ)·ln(oᵢ / eᵢ) of an observed histogram against an expected
 * one, both given as counts or shares over the same bins (each normalised first); a share below
 * `epsilon` counts as `epsilon`. 0 when the two agree; symmetric in its arguments.
 */
export function psi(expected: readonly number[], observed: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== observed.length || expected.length === 0) {
    throw new FoglineError(
      'INVALID_ARG',
      `psi: histograms must have the same number of bins (${expected.length} vs ${observed.length})`,
    );
  }
  if (!(epsilon > 0 && epsilon < 1))
    throw new FoglineError('INVALID_ARG', `psi: epsilon must be in (0, 1), got ${epsilon}`);
  const e = fractionsOf(expected);
  const o = fractionsOf(observed);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i]!, epsilon);
    const oi = Math.max(o[i]!, epsilon);
    sum += (oi - ei) * Math.log(oi / ei);
  }
  return sum;
}
