/** Cascade arithmetic, sweep and policy choice on synthetic scores whose optimum is known. */
import type { ScoreKind } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { baselines, type Cascade, evaluatePolicy, type TierOutcomes } from './cascade.ts';
import { choosePolicy, parseAccuracyTarget } from './objective.ts';
import { paretoFrontier, sweepPolicies } from './sweep.ts';

const N = 100;
const NET = { deviceEdgeRttMs: 5, edgeCloudRttMs: 20 };

function tier(
  correct: (i: number) => boolean,
  score: (i: number) => number,
  latencyMs: number,
): TierOutcomes {
  const s = Float64Array.from({ length: N }, (_, i) => score(i));
  // Only maxprob carries information; margin and entropy rank the inputs backwards.
  const reversed = s.map((v) => 1 - v);
  const scores: Record<ScoreKind, Float64Array> = { maxprob: s, margin: reversed, entropy: reversed };
  return { correct: Uint8Array.from({ length: N }, (_, i) => (correct(i) ? 1 : 0)), scores, latencyMs };
}

/**
 * Device: score i/100, right exactly when i ≥ 30. Edge: score ((37·i) mod 100)/100, right exactly
 * when that score ≥ 0.5. Cloud: always right. So the cheapest perfect cascade answers i ≥ 30 on the
 * device (threshold 0.30) and lets the edge answer the escalated inputs it gets right.
 */
const edgeScore = (i: number): number => ((37 * i) % 100) / 100;
const cascade: Cascade = {
  device: tier(
    (i) => i >= 30,
    (i) => i / 100,
    1,
  ),
  edge: tier((i) => edgeScore(i) >= 0.5, edgeScore, 2),
  cloud: tier(
    () => true,
    () => 0.5,
    10,
  ),
};
const escalatedEdgeRight = Array.from({ length: 30 }, (_, i) => i).filter((i) => edgeScore(i) >= 0.5);
const lowestRightEdgeScore = Math.min(...escalatedEdgeRight.map(edgeScore));
const highestWrongEdgeScore = Math.max(
  ...Array.from({ length: 30 }, (_, i) => edgeScore(i)).filter((s) => s < 0.5),
);

describe('cascade arithmetic', () => {
  it('expected latency adds each hop for the share that reaches it', () => {
    const allToCloud = {
      device: { score: 'maxprob', threshold: Infinity },
      edge: { score: 'maxprob', threshold: Infinity },
    } as const;
    const r = evaluatePolicy(cascade, allToCloud, NET);
    expect(r.share).toEqual({ device: 0, edge: 0, cloud: 1 });
    expect(r.expectedLatencyMs).toBe(1 + (5 + 2) + (20 + 10));
    expect(r.escalations).toBe(2);
    expect(r.accuracy).toBe(1);
  });

  it('baselines and the oracle router', () => {
    const b = baselines(cascade, NET);
    expect(b.alwaysDevice).toMatchObject({ accuracy: 0.7, expectedLatencyMs: 1 });
    expect(b.alwaysEdge.expectedLatencyMs).toBe(5 + 2);
    expect(b.alwaysCloud).toMatchObject({ accuracy: 1, expectedLatencyMs: 5 + 20 + 10 });
    // The oracle escalates exactly the 30 the device gets wrong, and past the edge only those it gets wrong.
    expect(b.oracle.accuracy).toBe(1);
    expect(b.oracle.share.device).toBe(0.7);
    expect(b.oracle.share.edge).toBeCloseTo(escalatedEdgeRight.length / N, 12);
  });
});

describe('threshold sweep and choice', () => {
  const points = sweepPolicies(cascade, NET);
  const base = baselines(cascade, NET);

  it('every swept point matches a direct evaluation of its policy', () => {
    for (let k = 0; k < points.length; k += 97) {
      const p = points[k]!;
      const direct = evaluatePolicy(cascade, p.policy, NET);
      expect(p.outcome.accuracy).toBeCloseTo(direct.accuracy, 12);
      expect(p.outcome.expectedLatencyMs).toBeCloseTo(direct.expectedLatencyMs, 9);
    }
  });

  it('accuracy>=cloud finds the known optimum: device maxprob 0.30, edge maxprob between wrong and right', () => {
    const chosen = choosePolicy(points, { accuracy: parseAccuracyTarget('accuracy>=cloud') }, base)!;
    expect(chosen.policy.device).toEqual({ score: 'maxprob', threshold: 0.3 });
    expect(chosen.policy.edge.score).toBe('maxprob');
    expect(chosen.policy.edge.threshold).toBeGreaterThan(highestWrongEdgeScore);
    expect(chosen.policy.edge.threshold).toBeLessThanOrEqual(lowestRightEdgeScore);
    expect(chosen.outcome.accuracy).toBe(1);
    expect(chosen.outcome.share).toEqual(base.oracle.share);
  });

  it('a looser target escalates less and stays within it', () => {
    const chosen = choosePolicy(points, { accuracy: parseAccuracyTarget('accuracy>=cloud-5pp') }, base)!;
    expect(chosen.outcome.accuracy).toBeGreaterThanOrEqual(0.95 - 1e-12);
    expect(chosen.outcome.escalations).toBeLessThan(0.3 + (30 - escalatedEdgeRight.length) / N);
  });

  it('--minimize latency picks the cheapest feasible policy, escalations the fewest hops', () => {
    const accuracy = parseAccuracyTarget('accuracy>=cloud-5pp');
    const feasible = points.filter((p) => p.outcome.accuracy >= 0.95 - 1e-12);
    const byLatency = choosePolicy(points, { accuracy, minimize: 'latency' }, base)!;
    const byHops = choosePolicy(points, { accuracy, minimize: 'escalations' }, base)!;
    expect(byLatency.outcome.expectedLatencyMs).toBe(
      Math.min(...feasible.map((p) => p.outcome.expectedLatencyMs)),
    );
    expect(byHops.outcome.escalations).toBe(Math.min(...feasible.map((p) => p.outcome.escalations)));
  });

  it('--max-cloud-share 0 keeps everything below the cloud and maximises accuracy there', () => {
    const chosen = choosePolicy(points, { maxCloudShare: 0 }, base)!;
    expect(chosen.outcome.share.cloud).toBe(0);
    expect(chosen.outcome.accuracy).toBeCloseTo((70 + escalatedEdgeRight.length) / N, 12);
  });

  it('--max-mean-latency-ms bounds the expected latency; an impossible target finds nothing', () => {
    const chosen = choosePolicy(points, { maxMeanLatencyMs: 4 }, base)!;
    expect(chosen.outcome.expectedLatencyMs).toBeLessThanOrEqual(4);
    expect(choosePolicy(points, { maxMeanLatencyMs: 0.5 }, base)).toBeUndefined();
  });

  it('the frontier is monotone: more latency buys more accuracy', () => {
    const f = paretoFrontier(points);
    for (let i = 1; i < f.length; i++) {
      expect(f[i]!.outcome.expectedLatencyMs).toBeGreaterThanOrEqual(f[i - 1]!.outcome.expectedLatencyMs);
      expect(f[i]!.outcome.accuracy).toBeGreaterThan(f[i - 1]!.outcome.accuracy);
    }
    expect(f.at(-1)!.outcome.accuracy).toBe(1);
  });
});

describe('target syntax', () => {
  it('parses the documented forms and rejects others', () => {
    expect(parseAccuracyTarget('accuracy>=cloud-0.2pp')).toEqual({ kind: 'relative-to-cloud', pp: 0.2 });
    expect(parseAccuracyTarget('accuracy>=cloud')).toEqual({ kind: 'relative-to-cloud', pp: 0 });
    expect(parseAccuracyTarget('accuracy>=0.95')).toEqual({ kind: 'absolute', accuracy: 0.95 });
    expect(() => parseAccuracyTarget('latency<=5')).toThrow(/unknown target "latency<=5"/);
  });
});

describe('weighted samples (field records, weight 1/p)', () => {
  /** The same cascade with sample i repeated reps(i) times. */
  const reps = (i: number): number => 1 + (i % 3);
  const repeated = (t: TierOutcomes): TierOutcomes => {
    const pick = <A extends Uint8Array | Float64Array>(a: A): A =>
      a.constructor === Uint8Array
        ? (Uint8Array.from(Array.from(a).flatMap((v, i) => new Array(reps(i)).fill(v))) as A)
        : (Float64Array.from(Array.from(a).flatMap((v, i) => new Array(reps(i)).fill(v))) as A);
    return {
      correct: pick(t.correct),
      scores: {
        maxprob: pick(t.scores.maxprob),
        margin: pick(t.scores.margin),
        entropy: pick(t.scores.entropy),
      },
      latencyMs: t.latencyMs,
    };
  };
  const expanded: Cascade = {
    device: repeated(cascade.device),
    edge: repeated(cascade.edge),
    cloud: repeated(cascade.cloud),
  };
  const weighted: Cascade = { ...cascade, weights: Float64Array.from({ length: N }, (_, i) => reps(i)) };

  it('a sample of weight w counts as w copies of it: the same sweep, baselines and policy outcomes', () => {
    const a = sweepPolicies(weighted, NET, ['maxprob']);
    const b = sweepPolicies(expanded, NET, ['maxprob']);
    const key = (p: (typeof a)[number]) => `${p.policy.device.threshold}/${p.policy.edge.threshold}`;
    const byKey = new Map(b.map((p) => [key(p), p.outcome]));
    for (const p of a) {
      const o = byKey.get(key(p))!;
      expect(p.outcome.accuracy).toBeCloseTo(o.accuracy, 12);
      expect(p.outcome.share.cloud).toBeCloseTo(o.share.cloud, 12);
      expect(p.outcome.expectedLatencyMs).toBeCloseTo(o.expectedLatencyMs, 9);
      expect(evaluatePolicy(weighted, p.policy, NET).accuracy).toBeCloseTo(o.accuracy, 12);
    }
    expect(baselines(weighted, NET).alwaysDevice.accuracy).toBeCloseTo(
      baselines(expanded, NET).alwaysDevice.accuracy,
      12,
    );
    expect(baselines(weighted, NET).oracle.share.edge).toBeCloseTo(
      baselines(expanded, NET).oracle.share.edge,
      12,
    );
  });

  it('refuses weights that do not match the samples or are not > 0', () => {
    const policy = {
      device: { score: 'maxprob', threshold: 0.5 },
      edge: { score: 'maxprob', threshold: 0.5 },
    } as const;
    expect(() => evaluatePolicy({ ...cascade, weights: new Float64Array(3).fill(1) }, policy, NET)).toThrow(
      /weight/,
    );
    expect(() => evaluatePolicy({ ...cascade, weights: new Float64Array(N) }, policy, NET)).toThrow(/weight/);
  });
});
