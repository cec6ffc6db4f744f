/**
 * Running totals of `fogline up`: per tier, how many requests it answered, how many of those were
 * right against the labels, and their end-to-end latency. Latencies are kept in a bounded reservoir
 * so a long run does not grow memory.
 */
import { TIERS, type Tier } from '@fogline/shared';

const RESERVOIR = 20_000;

export interface TierTotals {
  count: number;
  correct: number;
  degraded: number;
  latenciesMs: number[];
  seen: number;
}

export interface Answer {
  tier: Tier;
  correct: boolean;
  degraded: boolean;
  latencyMs: number;
  /** Why a degraded answer came from a lower tier (the SDK's `fallback`). */
  fallback?: { code: string; message: string } | undefined;
}

/** Degraded answers of one reason: its code, how many, and the latest message. */
export interface FallbackCount {
  code: string;
  count: number;
  message: string;
}

export interface TierSummary {
  tier: Tier;
  count: number;
  share: number;
  accuracy: number | null;
  degraded: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface TallySummary {
  total: number;
  errors: number;
  accuracy: number | null;
  tiers: TierSummary[];
  /** Degraded answers, all tiers. */
  degraded: number;
  /** Why answers were degraded, most frequent first. */
  fallbacks: FallbackCount[];
  /** Share of requests that did not need the cloud, against an always-cloud deployment. */
  cloudCallsSaved: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export class CascadeTally {
  private readonly tiers = new Map<Tier, TierTotals>(
    TIERS.map((t) => [t, { count: 0, correct: 0, degraded: 0, latenciesMs: [], seen: 0 }]),
  );
  private readonly all: number[] = [];
  private allSeen = 0;
  private readonly fallbacks = new Map<string, FallbackCount>();
  errors = 0;

  constructor(private readonly random: () => number = Math.random) {}

  record(answer: Answer): void {
    const t = this.tiers.get(answer.tier)!;
    t.count++;
    if (answer.correct) t.correct++;
    if (answer.degraded) {
      t.degraded++;
      const { code, message } = answer.fallback ?? { code: 'UNKNOWN', message: 'no reason given' };
      const seen = this.fallbacks.get(code);
      if (seen) {
        seen.count++;
        seen.message = message;
      } else this.fallbacks.set(code, { code, count: 1, message });
    }
    t.seen = this.sample(t.latenciesMs, t.seen, answer.latencyMs);
    this.allSeen = this.sample(this.all, this.allSeen, answer.latencyMs);
  }

  recordError(): void {
    this.errors++;
  }

  summary(): TallySummary {
    const total = [...this.tiers.values()].reduce((n, t) => n + t.count, 0);
    const correct = [...this.tiers.values()].reduce((n, t) => n + t.correct, 0);
    const cloud = this.tiers.get('cloud')!.count;
    return {
      total,
      errors: this.errors,
      accuracy: total ? correct / total : null,
      tiers: TIERS.map((tier) => {
        const t = this.tiers.get(tier)!;
        return {
          tier,
          count: t.count,
          share: total ? t.count / total : 0,
          accuracy: t.count ? t.correct / t.count : null,
          degraded: t.degraded,
          p50Ms: quantile(t.latenciesMs, 0.5),
          p99Ms: quantile(t.latenciesMs, 0.99),
        };
      }),
      degraded: [...this.tiers.values()].reduce((n, t) => n + t.degraded, 0),
      fallbacks: [...this.fallbacks.values()].map((f) => ({ ...f })).sort((a, b) => b.count - a.count),
      cloudCallsSaved: total ? 1 - cloud / total : null,
      p50Ms: quantile(this.all, 0.5),
      p99Ms: quantile(this.all, 0.99),
    };
  }

  /** Algorithm R reservoir sampling: every latency seen has the same chance to be kept. */
  private sample(into: number[], seen: number, value: number): number {
    if (into.length < RESERVOIR) into.push(value);
    else {
      const j = Math.floor(this.random() * (seen + 1));
      if (j < RESERVOIR) into[j] = value;
    }
    return seen + 1;
  }
}

export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
