/**
 * `npm run bench -- response-cache [--seconds N] [--rounds N]`
 * What a response-cache hit saves: the same digits-large served twice by one gateway, as `cached`
 * (config.json `response_cache: {enable: true}`, every request a hit after one warm pass over the 64
 * request bodies) and as `plain` (no response_cache: every request runs the model), binary requests,
 * at concurrency 1 and 64, the two alternating round by round. Figures are ratios cached / plain.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addModel, makeModelRepo, startCloud } from '@fogline/cloud/testing';
import { MODEL, requestBodies } from './cloud/gateway.ts';
import { numberFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, writeReport } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { type HttpLoadPlan, runLoad } from './load/run-load.ts';

const VARIANTS = ['cached', 'plain'] as const;
type Variant = (typeof VARIANTS)[number];

export default async function run(args: string[] = []): Promise<void> {
  const seconds = numberFlag(args, '--seconds', 3);
  const rounds = numberFlag(args, '--rounds', 3);
  const head = reportHead('response-cache', args);

  const repo = makeModelRepo([]);
  for (const variant of VARIANTS) {
    addModel(repo, variant, 1, MODEL);
    const file = join(repo, variant, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config.name = variant;
    if (variant === 'cached') config.response_cache = { enable: true };
    writeFileSync(file, JSON.stringify(config));
  }
  const cloud = await startCloud({ modelsDir: repo, auth: false, responseCacheMb: 16 });
  try {
    const bodies = requestBodies('binary');
    const plan = (variant: Variant, concurrency: number, durationMs: number): HttpLoadPlan => ({
      protocol: 'http',
      url: cloud.url,
      path: `/v2/models/${variant}/infer`,
      headers: {},
      bodies,
      connections: concurrency,
      inFlightPerConnection: 1,
      warmupMs: 500,
      durationMs,
    });
    // Warm both (and fill the cache: every body at least once).
    for (const variant of VARIANTS) await runLoad(plan(variant, 64, 1500));

    const rows: string[] = [];
    const points = [];
    for (const concurrency of [1, 64]) {
      const measured: Record<Variant, { reqPerSec: number; p50Ms: number; p99Ms: number }[]> = {
        cached: [],
        plain: [],
      };
      for (let r = 0; r < rounds; r++) {
        for (const variant of VARIANTS) {
          const load = await runLoad(plan(variant, concurrency, seconds * 1000));
          measured[variant].push({
            reqPerSec: load.completed / load.seconds,
            p50Ms: load.latency.p50Ms,
            p99Ms: load.latency.p99Ms,
          });
        }
      }
      const med = (v: Variant, k: 'reqPerSec' | 'p50Ms' | 'p99Ms') => median(measured[v].map((m) => m[k]));
      const point = {
        concurrency,
        cached: {
          reqPerSec: med('cached', 'reqPerSec'),
          p50Ms: med('cached', 'p50Ms'),
          p99Ms: med('cached', 'p99Ms'),
        },
        plain: {
          reqPerSec: med('plain', 'reqPerSec'),
          p50Ms: med('plain', 'p50Ms'),
          p99Ms: med('plain', 'p99Ms'),
        },
        rounds: measured,
      };
      points.push(point);
      rows.push(
        [
          concurrency,
          point.cached.reqPerSec.toFixed(0),
          point.plain.reqPerSec.toFixed(0),
          (point.cached.reqPerSec / point.plain.reqPerSec).toFixed(2),
          ms(point.cached.p50Ms, 3),
          ms(point.plain.p50Ms, 3),
          (point.cached.p50Ms / point.plain.p50Ms).toFixed(2),
          ms(point.cached.p99Ms, 3),
          ms(point.plain.p99Ms, 3),
        ].join(' | '),
      );
    }
    const stats = await (await fetch(`${cloud.url}/v2/models/cached/stats`)).json();
    const markdown = [
      '# Response cache: hits against model runs',
      '',
      machineLine(head.at, head.machine),
      '',
      `\`${head.command}\`: ${MODEL} as \`cached\` (response_cache on, every measured request a hit) and as`,
      '`plain` (no cache), single-digit binary requests over keep-alive from a separate load process,',
      `${rounds} alternating rounds of ${seconds} s, medians. Ratios are cached / plain in the same run.`,
      '',
      table(
        'concurrency | cached req/s | plain req/s | req/s ratio | cached p50 ms | plain p50 ms | p50 ratio | cached p99 ms | plain p99 ms',
        rows,
      ),
      '',
    ].join('\n');
    writeReport('response-cache', { ...head, points, cachedStats: stats }, markdown);
  } finally {
    await cloud.stop();
    rmSync(repo, { recursive: true, force: true });
  }
}
