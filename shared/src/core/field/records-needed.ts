/**
 * How many audited records a decision needs (docs/field-accuracy.md "How many records"): the
 * fewest records at which a disagreement observed at exactly `baseline` has its Wilson upper bound
 * below `baseline + margin`, i.e. the window is large enough to show "no worse than the margin"
 * when the truth is the baseline. Requests needed = records / audit rate.
 */
import { FoglineError } from '../errors.ts';
import { wilsonBounds, Z_95 } from './wilson.ts';

/** The margin F7's controller holds to: the calibration's own disagreement + 0.3 pp. */
export const DISAGREEMENT_MARGIN = 0.003;

/** Records (effective, when weighted) needed to show disagreement < baseline + margin at confidence z. */
export function recordsNeeded(
  baseline: number,
  margin: number = DISAGREEMENT_MARGIN,
  z: number = Z_95,
): number {
  if (!(baseline >= 0 && baseline < 1)) {
    throw new FoglineError('INVALID_ARG', `recordsNeeded: baseline must be in [0, 1), got ${baseline}`);
  }
  if (!(margin > 0 && baseline + margin <= 1)) {
    throw new FoglineError(
      'INVALID_ARG',
      `recordsNeeded: margin must be > 0 with baseline + margin <= 1, got ${margin}`,
    );
  }
  const enough = (n: number) => wilsonBounds(baseline, n, z).high < baseline + margin;
  // The upper bound falls as n grows (for baselines below 1/2, where disagreements live; above it
  // the search still finds a sufficient n): double until enough, then bisect.
  let high = 1;
  while (!enough(high)) {
    high *= 2;
    if (high > 2 ** 52)
      throw new FoglineError('INVALID_ARG', `recordsNeeded: no sample size reaches margin ${margin}`);
  }
  if (high === 1) return 1;
  let low = high / 2;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (enough(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** Requests that pass before `records` audits have come in at audit rate `rate` (0 < rate ≤ 1). */
export function requestsNeeded(records: number, rate: number): number {
  if (!(rate > 0 && rate <= 1)) {
    throw new FoglineError('INVALID_ARG', `requestsNeeded: audit rate must be in (0, 1], got ${rate}`);
  }
  return Math.ceil(records / rate);
}
