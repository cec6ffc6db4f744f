/**
 * Tallies (tallies.ts) export what prom-client's own Counter and Histogram export for the same events:
 * the exposition text is compared line for line with a registry fed through prom-client.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterTallies, HistogramTallies } from './tallies.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED = [
  { labels: { model: 'a', version: '1' }, values: [0.0005, 0.001, 0.02, 0.5, 7] },
  { labels: { model: 'b', version: '2' }, values: [0.2] },
];

describe('tallies', () => {
  it('export a histogram as prom-client does', async () => {
    const theirs = new Registry();
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'help',
      labelNames: ['model', 'version'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const ours = new Registry();
    const tallies = new HistogramTallies('h_seconds', 'help', BUCKETS, ours);
    for (const { labels, values } of OBSERVED) {
      const tally = tallies.tally(labels);
      for (const v of values) {
        histogram.observe(labels, v);
        tally.observe(v);
      }
    }
    expect(tallies.tally(OBSERVED[0]!.labels)).toBeDefined(); // the same series again, not a second one
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // As JSON too, but for prom-client's exemplar slots (none are kept here).
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (k, v) => (k === 'exemplar' ? undefined : v)));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(
      withoutExemplars(await theirs.getMetricsAsJSON()),
    );
  });

  it('add counts to a Counter when it is scraped, once each', async () => {
    const registry = new Registry();
    let tallies: CounterTallies<'status'> | undefined;
    const counter = new Counter({
      name: 'c_total',
      help: 'help',
      labelNames: ['status'],
      registers: [registry],
      collect: () => tallies?.flush(),
    });
    tallies = new CounterTallies(counter);
    const ok = tallies.tally({ status: '200' });
    ok.inc();
    ok.inc();
    tallies.tally({ status: '200' }).inc();
    tallies.tally({ status: '404' }).inc(5);
    expect(await registry.metrics()).toContain('c_total{status="200"} 3\nc_total{status="404"} 5');
    expect(await registry.metrics()).toContain('c_total{status="200"} 3\nc_total{status="404"} 5');
    ok.inc();
    expect(await registry.metrics()).toContain('c_total{status="200"} 4');
  });
});
