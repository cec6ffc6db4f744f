/**
 * The rollout's accuracy gate (docs/field-accuracy.md "Rollout gate", issue 13 item 4): after a
 * swap the edge runs the new and the previous model on the same audited inputs, each judged right
 * or wrong against the cloud's reference. Only the discordant pairs tell them apart: `oldOnlyCorrect`
 * (b, the previous model right, the new one wrong) and `newOnlyCorrect` (c). The drop in agreement is
 * θ = (b − c) / n over n paired records.
 *
 * Its interval is Tango's score interval for a paired difference of proportions (Tango 1998, Stat
 * Med 17:891): the set of θ₀ whose score statistic
 *   T(θ₀) = (b − c − nθ₀) / √(n·(2q̂ + θ₀(1 − θ₀)))
 * stays within ±z, where q̂ is the maximum-likelihood share of new-only-correct pairs given θ₀
 * (the positive root of 2n·q² + (−b − c + (2n − b + c)θ₀)·q − cθ₀(1 − θ₀) = 0). Like Wilson's
 * interval (wilson.ts), of which it is the paired counterpart, it needs no continuity correction,
 * stays inside [−1, 1] and keeps its coverage when b = c = 0: then the upper bound is z²/(n + z²).
 */
import { FoglineError } from '../errors.ts';
import { Z_95, zForConfidence } from './wilson.ts';

export type PairedGateVerdict = 'pending' | 'pass' | 'fail';

export interface PairedGateInput {
  /** Audited inputs both models answered. */
  readonly paired: number;
  /** Pairs where only the new model agreed with the reference. */
  readonly newOnlyCorrect: number;
  /** Pairs where only the previous model agreed with the reference. */
  readonly oldOnlyCorrect: number;
  /** Paired records needed before the gate may judge either way. */
  readonly minPaired: number;
  /** Largest accepted drop of agreement (0..1). */
  readonly maxDrop: number;
  /** Two-sided confidence of the interval; 0.95 unless told. */
  readonly confidence?: number;
}

export interface PairedGateJudgement {
  readonly verdict: PairedGateVerdict;
  /** (oldOnlyCorrect − newOnlyCorrect) / paired; 0 with no pairs. */
  readonly drop: number;
  /** Bounds of the drop at the requested confidence; [−1, 1] with no pairs. */
  readonly lower: number;
  readonly upper: number;
  /** One line a person can read. */
  readonly reason: string;
}

function invalid(message: string): FoglineError {
  return new FoglineError('INVALID_ARG', `paired gate: ${message}`);
}

/** T(θ₀) of Tango's score test; b, c may be expected (non-integer) counts. */
function scoreStatistic(n: number, b: number, c: number, theta: number): number {
  const spread = theta * (1 - theta);
  const B = -b - c + (2 * n - b + c) * theta;
  const q = (Math.sqrt(Math.max(0, B * B + 8 * n * c * spread)) - B) / (4 * n);
  const variance = n * (2 * Math.max(0, q) + spread);
  const diff = b - c - n * theta;
  if (!(variance > 0)) return diff === 0 ? 0 : diff > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return diff / Math.sqrt(variance);
}

/** The θ₀ in [lo, hi] where T crosses `target` (T falls as θ₀ grows), by bisection. */
function crossing(n: number, b: number, c: number, target: number, lo: number, hi: number): number {
  let low = lo;
  let high = hi;
  for (let i = 0; i < 100 && high - low > 1e-12; i++) {
    const mid = (low + high) / 2;
    if (scoreStatistic(n, b, c, mid) > target) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** Tango's interval for the paired drop (b − c)/n at normal quantile z. */
export function pairedDropInterval(
  paired: number,
  oldOnlyCorrect: number,
  newOnlyCorrect: number,
  z: number = Z_95,
): { drop: number; lower: number; upper: number } {
  const n = paired;
  const b = oldOnlyCorrect;
  const c = newOnlyCorrect;
  if (!(n >= 0 && b >= 0 && c >= 0 && b + c <= n) || !Number.isFinite(n)) {
    throw invalid(`need 0 <= oldOnlyCorrect + newOnlyCorrect <= paired, got ${b} + ${c} of ${n}`);
  }
  if (!(z > 0 && Number.isFinite(z))) throw invalid(`z must be > 0, got ${z}`);
  if (n === 0) return { drop: 0, lower: -1, upper: 1 };
  const drop = (b - c) / n;
  // T(drop) = 0; T → +∞ as θ₀ → −1 unless c = n, and → −∞ as θ₀ → 1 unless b = n.
  const lower = c === n ? -1 : crossing(n, b, c, z, -1, drop);
  const upper = b === n ? 1 : crossing(n, b, c, -z, drop, 1);
  return { drop, lower: Math.max(-1, Math.min(lower, drop)), upper: Math.min(1, Math.max(upper, drop)) };
}

const fixed2 = (v: number) => v.toFixed(2);

/**
 * Judges the gate: `fail` when the lower bound of the drop exceeds maxDrop (the new model is surely
 * worse by more than the bound), `pass` when the upper bound is below it, `pending` otherwise or
 * before `minPaired` pairs.
 */
export function judgePairedGate(input: PairedGateInput): PairedGateJudgement {
  const { paired, newOnlyCorrect, oldOnlyCorrect, minPaired, maxDrop, confidence = 0.95 } = input;
  for (const [name, v] of [
    ['paired', paired],
    ['newOnlyCorrect', newOnlyCorrect],
    ['oldOnlyCorrect', oldOnlyCorrect],
    ['minPaired', minPaired],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw invalid(`${name} must be an integer >= 0, got ${v}`);
  }
  if (!(maxDrop >= 0 && maxDrop <= 1)) throw invalid(`maxDrop must be in [0, 1], got ${maxDrop}`);
  const z = zForConfidence(confidence);
  const { drop, lower, upper } = pairedDropInterval(paired, oldOnlyCorrect, newOnlyCorrect, z);
  const level = `${Math.round(confidence * 1000) / 10} % CI ${fixed2(lower)}–${fixed2(upper)}`;
  const net = oldOnlyCorrect - newOnlyCorrect;
  const comparison =
    net > 0
      ? `new model agrees ${net}/${paired} less often than the previous`
      : net < 0
        ? `new model agrees ${-net}/${paired} more often than the previous`
        : `new model agrees as often as the previous on ${paired} pairs`;
  const stats = `(drop ${fixed2(drop)}, ${level}; bound ${fixed2(maxDrop)})`;
  if (paired < minPaired) {
    return {
      verdict: 'pending',
      drop,
      lower,
      upper,
      reason: `${comparison} ${stats}; ${paired}/${minPaired} paired records so far`,
    };
  }
  if (lower > maxDrop) {
    return { verdict: 'fail', drop, lower, upper, reason: `${comparison} ${stats}: worse than the bound` };
  }
  if (upper < maxDrop) {
    return { verdict: 'pass', drop, lower, upper, reason: `${comparison} ${stats}: within the bound` };
  }
  return { verdict: 'pending', drop, lower, upper, reason: `${comparison} ${stats}: not yet decided` };
}

export interface PairsNeededOptions {
  /**
   * Share of pairs where the two models disagree on correctness (b + c)/n; at least |drop|.
   * Unless told, |drop|: the new model is never right where the previous was wrong (the fewest pairs).
   */
  readonly discordance?: number;
  readonly confidence?: number;
}

/**
 * Paired records the gate needs to judge a true `drop` against `maxDrop` when the counts come in at
 * their expected shares: the fewest n at which the expected table's interval lies wholly on one side
 * of maxDrop (above it: fail; below it: pass). Infinity when drop = maxDrop.
 */
export function pairsNeeded(drop: number, maxDrop: number, options: PairsNeededOptions = {}): number {
  const { discordance = Math.abs(drop), confidence = 0.95 } = options;
  if (!(drop >= -1 && drop <= 1)) throw invalid(`drop must be in [-1, 1], got ${drop}`);
  if (!(maxDrop >= 0 && maxDrop <= 1)) throw invalid(`maxDrop must be in [0, 1], got ${maxDrop}`);
  if (!(discordance >= Math.abs(drop) - 1e-12 && discordance <= 1)) {
    throw invalid(`discordance must be in [|drop|, 1], got ${discordance}`);
  }
  if (drop === maxDrop) return Number.POSITIVE_INFINITY;
  const z = zForConfidence(confidence);
  const decided = (n: number) => {
    const b = (n * (discordance + drop)) / 2;
    const c = Math.max(0, (n * (discordance - drop)) / 2);
    const { lower, upper } = pairedDropInterval(n, Math.min(b, n - c), c, z);
    return drop > maxDrop ? lower > maxDrop : upper < maxDrop;
  };
  let high = 1;
  while (!decided(high)) {
    high *= 2;
    if (high > 2 ** 40) return Number.POSITIVE_INFINITY;
  }
  if (high === 1) return 1;
  let low = high / 2;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (decided(mid)) high = mid;
    else low = mid;
  }
  return high;
}
