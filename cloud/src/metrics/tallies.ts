/**
 * Prometheus series counted on the request path without prom-client's work per call (checking the
 * label set, hashing it, a closure per observation): the hot path adds to a plain tally it holds, and
 * the tallies reach the registry when it is scraped. Every request pays for a count and a latency;
 * on a lone request those calls' code and data are no longer in the CPU's caches, so prom-client's
 * path cost several µs that `npm run bench -- cloud` (c=1) showed.
 *
 * - CounterTallies: increments kept per series and added to a prom-client Counter in its `collect`
 *   hook (the Counter exports them as before).
 * - HistogramTallies: a histogram metric of its own (fixed buckets, as prom-client's Histogram
 *   exports them: cumulative `_bucket{le}` lines, `+Inf`, `_sum`, `_count`), registered in the
 *   registry like any prom-client metric.
 */
import type { Counter, Registry } from 'prom-client';

type Labels = Record<string, string>;

export interface CounterTally {
  /** One more (or `n` more) of this series. */
  inc(n?: number): void;
}

/** One key per label set (callers name the labels in one order). */
const keyOf = (labels: Readonly<Record<string, string | undefined>>) => Object.values(labels).join('\u0000');

export class CounterTallies<L extends string> {
  private readonly series = new Map<string, { labels: Partial<Record<L, string>>; pending: number }>();

  /** `counter`'s `collect` hook must call `flush()`. */
  constructor(private readonly counter: Counter<L>) {}

  /** The tally of one label set (the same for the same labels); hold it, then `inc` it per event. */
  tally(labels: Partial<Record<L, string>>): CounterTally {
    const key = keyOf(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels, pending: 0 };
      this.series.set(key, entry);
    }
    const counted = entry;
    return {
      inc: (n = 1) => {
        counted.pending += n;
      },
    };
  }

  /** Adds what was counted since the last scrape to the Counter. */
  flush(): void {
    for (const entry of this.series.values()) {
      if (entry.pending === 0) continue;
      this.counter.inc(entry.labels, entry.pending);
      entry.pending = 0;
    }
  }
}

export interface HistogramTally {
  observe(value: number): void;
}

interface HistogramSeries {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

export class HistogramTallies {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, increasing. */
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    // prom-client reads any object with its Metric's shape (name, help, type, get, reset).
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The tally of one label set (the same for the same labels); hold it, then `observe` per event. */
  tally(labels: Labels): HistogramTally {
    const key = keyOf(labels);
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    const entry = found;
    const { buckets } = this;
    return {
      observe: (value) => {
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i++;
        if (i < buckets.length) entry.counts[i]!++;
        entry.sum += value;
        entry.count++;
      },
    };
  }

  /** As prom-client's Histogram answers it: its series' labels merged into each value's. */
  async get() {
    const values = this.values().map(({ labels, sharedLabels, ...v }) => ({
      ...v,
      labels: { ...sharedLabels, ...labels },
    }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** What the registry writes the exposition text from: the series' labels kept apart, as prom-client does. */
  async getForPromString() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: this.aggregator,
    };
  }

  private values() {
    const bucket = `${this.name}_bucket`;
    // `le` as prom-client gives it: the bound as a number, '+Inf' as a string.
    const values: {
      labels: Record<string, string | number>;
      sharedLabels: Labels;
      value: number;
      metricName: string;
    }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({
          labels: { le },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: bucket,
        });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return values;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
