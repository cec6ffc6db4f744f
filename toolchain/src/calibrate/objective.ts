/**
 * What the calibration optimises. An accuracy target ("accuracy>=cloud-0.2pp": within 0.2 pp of
 * always-cloud, or "accuracy>=0.95") picks the policy that meets it with the fewest escalations
 * (tier-to-tier forwards per input: P(reach edge) + P(reach cloud)), or with `minimize: 'latency'`
 * the lowest expected latency (escalations weighted by what each hop costs); without a target, the
 * most accurate policy wins. --max-cloud-share and --max-mean-latency-ms are constraints either way.
 * Remaining ties go to the other of escalations / latency, then to higher accuracy.
 */
import { FoglineError } from '@fogline/shared';
import type { Baselines } from './cascade.ts';
import type { PolicyPoint } from './sweep.ts';

export type AccuracyTarget =
  | { readonly kind: 'relative-to-cloud'; readonly pp: number }
  | { readonly kind: 'absolute'; readonly accuracy: number };

export type Minimize = 'escalations' | 'latency';

export interface Objective {
  readonly accuracy?: AccuracyTarget;
  /** What a target minimises (default escalations). */
  readonly minimize?: Minimize;
  readonly maxCloudShare?: number;
  readonly maxMeanLatencyMs?: number;
}

const TARGET = /^accuracy\s*>=\s*(?:cloud(?:\s*-\s*(\d+(?:\.\d+)?)\s*pp)?|(0?\.\d+|1(?:\.0+)?))$/;

export function parseAccuracyTarget(text: string): AccuracyTarget {
  const m = TARGET.exec(text.trim());
  if (!m) {
    throw new FoglineError(
      'INVALID_ARG',
      `unknown target "${text}": use accuracy>=cloud-<x>pp (e.g. accuracy>=cloud-0.2pp), accuracy>=cloud, or accuracy>=<fraction> (e.g. accuracy>=0.95)`,
    );
  }
  if (m[2] !== undefined) return { kind: 'absolute', accuracy: Number(m[2]) };
  return { kind: 'relative-to-cloud', pp: m[1] === undefined ? 0 : Number(m[1]) };
}

/** The accuracy floor a target sets, given the always-cloud accuracy on the same samples. */
export function accuracyFloor(target: AccuracyTarget, base: Baselines): number {
  return target.kind === 'absolute' ? target.accuracy : base.alwaysCloud.accuracy - target.pp / 100;
}

export function describeObjective(o: Objective): string {
  const parts: string[] = [];
  const least = o.minimize === 'latency' ? 'lowest expected latency' : 'fewest escalations';
  if (o.accuracy?.kind === 'relative-to-cloud')
    parts.push(`accuracy ≥ always-cloud − ${o.accuracy.pp} pp, ${least}`);
  if (o.accuracy?.kind === 'absolute') parts.push(`accuracy ≥ ${o.accuracy.accuracy}, ${least}`);
  if (!o.accuracy) parts.push('highest accuracy');
  if (o.maxCloudShare !== undefined) parts.push(`cloud share ≤ ${o.maxCloudShare}`);
  if (o.maxMeanLatencyMs !== undefined) parts.push(`expected latency ≤ ${o.maxMeanLatencyMs} ms`);
  return parts.join(', ');
}

const EPS = 1e-12;

/** The policy the objective picks among `points`, or undefined when none is feasible. */
export function choosePolicy(
  points: readonly PolicyPoint[],
  o: Objective,
  base: Baselines,
): PolicyPoint | undefined {
  const floor = o.accuracy ? accuracyFloor(o.accuracy, base) : Number.NEGATIVE_INFINITY;
  const feasible = points.filter(
    ({ outcome: r }) =>
      r.accuracy >= floor - EPS &&
      (o.maxCloudShare === undefined || r.share.cloud <= o.maxCloudShare + EPS) &&
      (o.maxMeanLatencyMs === undefined || r.expectedLatencyMs <= o.maxMeanLatencyMs + EPS),
  );
  const better = (a: PolicyPoint, b: PolicyPoint): boolean => {
    const x = a.outcome;
    const y = b.outcome;
    if (!o.accuracy && Math.abs(x.accuracy - y.accuracy) > EPS) return x.accuracy > y.accuracy;
    const hops = x.escalations - y.escalations;
    const ms = x.expectedLatencyMs - y.expectedLatencyMs;
    for (const d of o.minimize === 'latency' ? [ms, hops] : [hops, ms]) if (Math.abs(d) > EPS) return d < 0;
    return x.accuracy > y.accuracy + EPS;
  };
  return feasible.reduce<PolicyPoint | undefined>(
    (best, p) => (!best || better(p, best) ? p : best),
    undefined,
  );
}
