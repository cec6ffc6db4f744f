/**
 * Prequential ("test, then train") scoring over a stream cut into windows: policy k is fitted on
 * windows 0..k-1 only and judged on window k only, so no window is ever scored by a policy that saw
 * it. This is how anything fitted on a shifted stream (shift.ts) is evaluated: the test split is small
 * and streams repeat inputs, so fitting and scoring on the same window would flatter the fit.
 */

export interface PrequentialStep<P, S> {
  /** The window scored. */
  readonly window: number;
  /** The policy fitted on the windows before it. */
  readonly policy: P;
  readonly score: S;
}

export interface Prequential<W, P, S> {
  readonly windows: readonly W[];
  /** Fits policy k from windows 0..k-1 (empty for k = 0: the policy before any data, e.g. the offline one). */
  readonly fit: (past: readonly W[], k: number) => P;
  /** Scores one window with one policy. */
  readonly score: (policy: P, window: W) => S;
}

/** Scores every window with the policy fitted before it. `past` is a frozen copy: fit cannot reach ahead. */
export function scorePrequential<W, P, S>({
  windows,
  fit,
  score,
}: Prequential<W, P, S>): PrequentialStep<P, S>[] {
  const steps: PrequentialStep<P, S>[] = [];
  for (let k = 0; k < windows.length; k++) {
    const policy = fit(Object.freeze(windows.slice(0, k)), k);
    steps.push({ window: k, policy, score: score(policy, windows[k]!) });
  }
  return steps;
}

/** Cuts `count` items into consecutive windows of `size` index ranges [start, end); the last may be shorter. */
export function windowsOf(count: number, size: number): { start: number; end: number }[] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`window size must be a positive integer, got ${size}`);
  const out: { start: number; end: number }[] = [];
  for (let start = 0; start < count; start += size) out.push({ start, end: Math.min(count, start + size) });
  return out;
}
