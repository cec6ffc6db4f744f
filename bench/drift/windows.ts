/**
 * The drift bench's figures from a simulated (or live) run: per window, accuracy against the
 * always-cloud / always-edge / always-device / oracle baselines on the same requests, the share each
 * tier answered, the audit rate and the cloud calls audits cost; and the number of requests from the
 * shift until accuracy is back within the tolerance of always-cloud and stays there.
 */
import type { Tier } from '@fogline/shared';
import type { ScoredItem } from './scored-stream.ts';

/** What one request did, live or simulated. */
export interface RequestOutcome {
  readonly tier: Tier;
  readonly correct: boolean;
  readonly audited: boolean;
  /** The audit probability in effect for it. */
  readonly p: number;
  readonly alarm: boolean;
}

export interface WindowFigures {
  readonly start: number;
  readonly end: number;
  readonly accuracy: number;
  readonly alwaysCloud: number;
  readonly alwaysEdge: number;
  readonly alwaysDevice: number;
  readonly oracle: number;
  readonly share: Readonly<Record<Tier, number>>;
  /** Mean audit probability in effect, and the share of requests actually audited. */
  readonly auditRate: number;
  readonly audited: number;
  /** Cloud calls: for answers, and for audits (each audit runs the cloud's model once). */
  readonly cloudCalls: { readonly answers: number; readonly audits: number };
  /** Share of the window's requests made during a drift alarm. */
  readonly alarm: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function figuresOf(
  items: readonly ScoredItem[],
  outcomes: readonly RequestOutcome[],
  start: number,
  end: number,
): WindowFigures {
  const its = items.slice(start, end);
  const outs = outcomes.slice(start, end);
  const right = (t: Tier) => mean(its.map((x) => (x.out[t].answer === x.label ? 1 : 0)));
  const share = (t: Tier) => mean(outs.map((o) => (o.tier === t ? 1 : 0)));
  return {
    start,
    end,
    accuracy: mean(outs.map((o) => (o.correct ? 1 : 0))),
    alwaysCloud: right('cloud'),
    alwaysEdge: right('edge'),
    alwaysDevice: right('device'),
    oracle: mean(its.map((x) => (Object.values(x.out).some((o) => o.answer === x.label) ? 1 : 0))),
    share: { device: share('device'), edge: share('edge'), cloud: share('cloud') },
    auditRate: mean(outs.map((o) => o.p)),
    audited: mean(outs.map((o) => (o.audited ? 1 : 0))),
    cloudCalls: {
      answers: outs.filter((o) => o.tier === 'cloud').length,
      audits: outs.filter((o) => o.audited).length,
    },
    alarm: mean(outs.map((o) => (o.alarm ? 1 : 0))),
  };
}

export function windowsOf(
  items: readonly ScoredItem[],
  outcomes: readonly RequestOutcome[],
  size: number,
): WindowFigures[] {
  const out: WindowFigures[] = [];
  for (let s = 0; s < outcomes.length; s += size) {
    out.push(figuresOf(items, outcomes, s, Math.min(outcomes.length, s + size)));
  }
  return out;
}

export interface RecoveryRule {
  /** How far below always-cloud still counts as back (0.003: 0.3 pp). */
  readonly tolerance: number;
  /** Accuracy is judged over at least this many requests (one window's noise is larger than 0.3 pp). */
  readonly span: number;
  /** Granularity of the candidate points (requests). */
  readonly step: number;
}

/**
 * Requests from `shiftAt` to the first point r (a multiple of `step` after it) from which accuracy
 * stays back: on every stretch [r, e) of at least `span` requests up to the end, the cascade is at most
 * `tolerance` below always-cloud on the same requests. Undefined when no such point leaves a full span.
 */
export function requestsToRecover(
  items: readonly ScoredItem[],
  outcomes: readonly RequestOutcome[],
  shiftAt: number,
  rule: RecoveryRule,
): number | undefined {
  const n = outcomes.length;
  // Prefix sums of (cascade right − cloud right).
  const diff = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const x = items[i]!;
    diff[i + 1] = diff[i]! + (outcomes[i]!.correct ? 1 : 0) - (x.out.cloud.answer === x.label ? 1 : 0);
  }
  const backOn = (r: number, e: number) => (diff[e]! - diff[r]!) / (e - r) >= -rule.tolerance - 1e-12;
  for (let r = shiftAt; r + rule.span <= n; r += rule.step) {
    let ok = backOn(r, n);
    for (let e = r + rule.span; e < n && ok; e += rule.step) ok = backOn(r, e);
    if (ok) return r - shiftAt;
  }
  return undefined;
}
