/**
 * `npm run bench -- cluster-state [--seconds N] [--rounds N] [--redis-url URL] [--replica-seconds N] [--replica-rounds N]`
 * What the replicas' shared token buckets (cloud/src/cluster/shared-token-buckets.ts) add to a
 * request: two gateways serving digits-tiny with auth on, one in-process (`local`) and one with
 * `--redis-url` (the buckets in Redis), at concurrency 1, binary requests, rounds alternating:
 *   local        an API key in the in-process bucket,
 *   redis-lease  an API key of burst 10 000 in Redis: a replica leases 50 tokens at a time,
 *   redis-exact  an API key of burst 20 in Redis: leases of one token, a Redis call per request.
 * Then the take alone, 20 000 in a row per kind. Figures are ratios against `local` in the same run.
 * Then two `fogline cloud` replicas against one process at c=64 (cluster-state/replicas.ts).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { addModel, makeModelRepo, startCloud } from '@fogline/cloud/testing';
import { localTokenBuckets, type TokenBuckets } from '@fogline/shared';
import { openCluster } from '../cloud/src/cluster/cluster.ts';
import { SharedTokenBuckets } from '../cloud/src/cluster/shared-token-buckets.ts';
import { requestBodies } from './cloud/gateway.ts';
import { measureReplicas, replicasMarkdown } from './cluster-state/replicas.ts';
import { numberFlag, stringFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, writeReport } from './lib/report.ts';
import { median, summarize } from './lib/stats.ts';
import { runLoad } from './load/run-load.ts';

const MODEL = 'digits-tiny';
const VARIANTS = ['local', 'redis-lease', 'redis-exact'] as const;
type Variant = (typeof VARIANTS)[number];

export default async function run(args: string[] = []): Promise<void> {
  const seconds = numberFlag(args, '--seconds', 3);
  const rounds = numberFlag(args, '--rounds', 3);
  const redisUrl =
    stringFlag(args, '--redis-url') ?? process.env.FOGLINE_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const head = reportHead('cluster-state', args);
  const repo = makeModelRepo([]);
  addModel(repo, MODEL, 1, MODEL);
  const local = await startCloud({ modelsDir: repo });
  const clustered = await startCloud({ modelsDir: repo, redisUrl });
  const tag = randomBytes(3).toString('hex');
  try {
    const keys: Record<Variant, { url: string; key: string }> = {
      local: { url: local.url, key: await local.createKey(`bench-${tag}`) },
      'redis-lease': { url: clustered.url, key: await clustered.createKey(`bench-lease-${tag}`) },
      'redis-exact': {
        url: clustered.url,
        key: await clustered.createKey(`bench-exact-${tag}`, 100_000, 20),
      },
    };
    const bodies = requestBodies('binary');
    const plan = (variant: Variant, durationMs: number) => ({
      protocol: 'http' as const,
      url: keys[variant].url,
      path: `/v2/models/${MODEL}/infer`,
      headers: { authorization: `Bearer ${keys[variant].key}` },
      bodies,
      connections: 1,
      inFlightPerConnection: 1,
      warmupMs: 500,
      durationMs,
    });
    for (const variant of VARIANTS) await runLoad(plan(variant, 1000));
    const measured: Record<Variant, { p50Ms: number; p99Ms: number; errors: unknown }[]> = {
      local: [],
      'redis-lease': [],
      'redis-exact': [],
    };
    for (let r = 0; r < rounds; r++) {
      // Each round starts with another variant, so a load swing on this shared box hits each alike.
      for (const variant of [...VARIANTS.slice(r % 3), ...VARIANTS.slice(0, r % 3)]) {
        const load = await runLoad(plan(variant, seconds * 1000));
        measured[variant].push({
          p50Ms: load.latency.p50Ms,
          p99Ms: load.latency.p99Ms,
          errors: load.errors,
        });
      }
    }
    const med = (v: Variant, k: 'p50Ms' | 'p99Ms') => median(measured[v].map((m) => m[k]));
    const http = VARIANTS.map((v) => ({ variant: v, p50Ms: med(v, 'p50Ms'), p99Ms: med(v, 'p99Ms') }));
    const takes = await takeCosts(redisUrl, tag);
    const replicaRun = {
      redisUrl,
      seconds: numberFlag(args, '--replica-seconds', 5),
      rounds: numberFlag(args, '--replica-rounds', 4),
      concurrency: 64,
    };
    const replicas = await measureReplicas(replicaRun);
    const base = http[0]!;
    const markdown = [
      '# Shared state: the cost of token buckets in Redis',
      '',
      machineLine(head.at, head.machine),
      '',
      `\`${head.command}\`: ${MODEL}, auth on, binary single-digit requests at concurrency 1 over keep-alive`,
      `from a separate load process, ${rounds} rounds of ${seconds} s (each round starting with the next variant), medians. Redis: the local`,
      'one, shared with whatever else runs here. Ratios against `local` in the same run.',
      '',
      table(
        'variant | p50 ms | added p50 ms | p50 ratio | p99 ms | p99 ratio',
        http.map((h) =>
          [
            h.variant,
            ms(h.p50Ms, 3),
            ms(h.p50Ms - base.p50Ms, 3),
            (h.p50Ms / base.p50Ms).toFixed(2),
            ms(h.p99Ms, 3),
            (h.p99Ms / base.p99Ms).toFixed(2),
          ].join(' | '),
        ),
      ),
      '',
      'The take alone (20 000 in a row, one key, in this process):',
      '',
      table(
        'buckets | p50 µs | p99 µs | mean µs',
        takes.map((t) => [t.kind, t.p50Us.toFixed(2), t.p99Us.toFixed(2), t.meanUs.toFixed(2)].join(' | ')),
      ),
      '',
      replicasMarkdown(replicas, replicaRun, head.machine.cores),
    ].join('\n');
    writeReport('cluster-state', { ...head, http, rounds: measured, takes, replicas }, markdown);
  } finally {
    await clustered.stop();
    await local.stop();
    rmSync(repo, { recursive: true, force: true });
  }
}

/** Per-take times of in-process buckets, leased Redis buckets and one-token leases. */
async function takeCosts(redisUrl: string, tag: string) {
  const cluster = await openCluster({ url: redisUrl });
  try {
    const kinds: [string, TokenBuckets, { ratePerSec: number; burst: number }][] = [
      ['local', localTokenBuckets(), { ratePerSec: 1e9, burst: 10_000 }],
      [
        'redis, lease of 50',
        new SharedTokenBuckets(cluster, { name: `bench-${tag}`, prefix: 'fogline:bench:' }),
        { ratePerSec: 1e9, burst: 10_000 },
      ],
      [
        'redis, lease of 1',
        new SharedTokenBuckets(cluster, { name: `bench-${tag}`, prefix: 'fogline:bench:' }),
        { ratePerSec: 1e9, burst: 20 },
      ],
    ];
    const out = [];
    for (const [kind, buckets, rate] of kinds) {
      const times: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const t0 = performance.now();
        const taken = buckets.take(`k-${kind}`, rate);
        if (taken instanceof Promise) await taken;
        times.push((performance.now() - t0) * 1000);
      }
      const s = summarize(times);
      out.push({ kind, p50Us: s.p50Ms, p99Us: s.p99Ms, meanUs: s.meanMs });
    }
    return out;
  } finally {
    await cluster.close();
  }
}
