/**
 * The replicas section of `npm run bench -- cluster-state` (docs/scale-out.md "Sizing"): one
 * `fogline cloud` process against two, same command, same box. Every process runs on one PostgreSQL
 * scratch database and one Redis (as the cluster tests do), auth on, `--sizing default`; the two
 * replicas share a data dir and a Redis key prefix, the single process has its own of both. The load
 * generator (bench/load) keeps 64 binary digits-large requests in flight; against two replicas it
 * sends each client's requests to them in turn, as a round-robin load balancer would. Rounds alternate
 * which side goes first; the ratio is two ÷ one in the same run.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CloudAdminClient, readAdminToken } from '@fogline/cloud';
import { createScratchDatabase, makeModelRepo, tempDir } from '@fogline/cloud/testing';
import { type FoglineProcess, startFoglineProcess } from '../../cli/src/testing/fogline-process.ts';
import { MODEL, requestBodies } from '../cloud/gateway.ts';
import { processCpuMicros } from '../lib/process-counters.ts';
import { ms, table } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import { type HttpLoadPlan, runLoad } from '../load/run-load.ts';

export const SIDES = ['one process', 'two replicas'] as const;
type Side = (typeof SIDES)[number];
type Ready = { http: { url: string } };

export interface ReplicasRun {
  readonly redisUrl: string;
  readonly seconds: number;
  readonly rounds: number;
  readonly concurrency: number;
}

export async function measureReplicas(run: ReplicasRun) {
  const loadBefore = loadavg();
  const database = await createScratchDatabase();
  const repo = makeModelRepo([MODEL]);
  const tag = randomBytes(3).toString('hex');
  const dirs = [tempDir('bench-one'), tempDir('bench-replicas')];
  const started: FoglineProcess<Ready>[] = [];
  const pids: Record<Side, number[]> = { 'one process': [], 'two replicas': [] };
  const cloud = async (side: Side, dataDir: string, prefix: string) => {
    const p = await startFoglineProcess<Ready>(
      [
        ...['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0'],
        ...['--data-dir', dataDir, '--models', repo, '--sizing', 'default', '--controller', 'off'],
        ...['--redis-url', run.redisUrl, '--redis-key-prefix', prefix],
      ],
      { env: { DATABASE_URL: database.url } },
    );
    started.push(p);
    pids[side].push(p.child.pid!);
    return p.ready.http.url;
  };
  try {
    const one = await cloud('one process', dirs[0]!, `fogline-bench-one-${tag}:`);
    // One after the other: the first replica writes the shared admin token the second reads.
    const replicas = [
      await cloud('two replicas', dirs[1]!, `fogline-bench-two-${tag}:`),
      await cloud('two replicas', dirs[1]!, `fogline-bench-two-${tag}:`),
    ];
    const cloudCpu = (side: Side) => pids[side].reduce((sum, pid) => sum + processCpuMicros(pid), 0);
    const admin = new CloudAdminClient({ url: one, adminToken: await readAdminToken(dirs[0]!) });
    const { key } = await admin.createKey(`bench-replicas-${tag}`, 1e6, 1e6);
    const bodies = requestBodies('binary');
    const plan = (side: Side, durationMs: number): HttpLoadPlan => ({
      protocol: 'http',
      ...(side === 'one process' ? { url: one } : { url: replicas[0]!, spreadOver: replicas.slice(1) }),
      path: `/v2/models/${MODEL}/infer`,
      headers: { authorization: `Bearer ${key}` },
      bodies,
      connections: run.concurrency,
      inFlightPerConnection: 1,
      warmupMs: 500,
      durationMs,
    });
    for (const side of SIDES) await runLoad(plan(side, 1500));
    type Round = Record<'reqPerSec' | 'p50Ms' | 'p99Ms' | 'cloudCpuMicros' | 'cloudCores', number>;
    const rounds: Record<Side, (Round & { errors: number })[]> = { 'one process': [], 'two replicas': [] };
    for (let r = 0; r < run.rounds; r++) {
      for (const side of r % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        const [cpu, wall] = [cloudCpu(side), performance.now()];
        const load = await runLoad(plan(side, run.seconds * 1000));
        const spent = cloudCpu(side) - cpu;
        rounds[side].push({
          reqPerSec: load.completed / load.seconds,
          p50Ms: load.latency.p50Ms,
          p99Ms: load.latency.p99Ms,
          errors: Object.values(load.errors).reduce((a, b) => a + b, 0),
          /** CPU of the side's cloud processes (all threads) per request, warm-up included. */
          cloudCpuMicros: spent / Math.max(1, load.total),
          /** The cores they kept busy on average over the call. */
          cloudCores: spent / ((performance.now() - wall) * 1000),
        });
      }
    }
    const sides = SIDES.map((side) => {
      const m = (k: keyof Round) => median(rounds[side].map((x) => x[k]));
      const errors = rounds[side].reduce((a, x) => a + x.errors, 0);
      return {
        side,
        ...{ reqPerSec: m('reqPerSec'), p50Ms: m('p50Ms'), p99Ms: m('p99Ms') },
        ...{ cloudCpuMicros: m('cloudCpuMicros'), cloudCores: m('cloudCores'), errors },
      };
    });
    return {
      concurrency: run.concurrency,
      sides,
      rounds,
      ratio: sides[1]!.reqPerSec / sides[0]!.reqPerSec,
      cpuRatio: sides[1]!.cloudCpuMicros / sides[0]!.cloudCpuMicros,
      loadavg: { before: loadBefore, after: loadavg() },
    };
  } finally {
    for (const p of started) await p.stop();
    await database.drop();
    for (const dir of [...dirs, repo]) rmSync(dir, { recursive: true, force: true });
  }
}

export type ReplicasResult = Awaited<ReturnType<typeof measureReplicas>>;

/** The section's markdown: the medians, the ratios, and what this box can and cannot tell. */
export function replicasMarkdown(r: ReplicasResult, run: ReplicasRun, cores: number): string {
  const base = r.sides[0]!;
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  return [
    `## Two replicas against one (HTTP, c=${r.concurrency})`,
    '',
    `\`fogline cloud\` processes serving ${MODEL} (auth on, \`--sizing default\`), each on the same PostgreSQL`,
    'scratch database and Redis; the two replicas share a data dir and a key prefix, the single process',
    `has its own. Binary single-digit requests, ${r.concurrency} in flight over keep-alive from a separate load`,
    "process; against two replicas each client sends its requests to them in turn (a round-robin load balancer's",
    `spread). ${run.rounds} rounds of ${run.seconds} s, alternating which side goes first; medians. Cloud CPU: the`,
    "side's cloud processes (every thread) per request; cores busy: that CPU over the round's wall time.",
    `Load average (1, 5, 15 min) ${load(r.loadavg.before)} before this section, ${load(r.loadavg.after)} after.`,
    '',
    table(
      'side | req/s | ratio | p50 ms | p99 ms | cloud CPU µs/req | cores busy | errors',
      r.sides.map((s) =>
        [
          s.side,
          s.reqPerSec.toFixed(0),
          (s.reqPerSec / base.reqPerSec).toFixed(2),
          ms(s.p50Ms),
          ms(s.p99Ms),
          s.cloudCpuMicros.toFixed(0),
          s.cloudCores.toFixed(2),
          String(s.errors),
        ].join(' | '),
      ),
    ),
    '',
    `Two replicas ÷ one: **×${r.ratio.toFixed(2)}** req/s, ×${r.cpuRatio.toFixed(2)} cloud CPU per request. This box`,
    `has ${cores} cores for the load generator, every cloud process and whatever else runs on it: a second`,
    'replica brings no cores of its own, so its req/s says how the cores are shared, not how the cloud',
    'scales. When the box is busy with other work (load average above the core count), two processes',
    'claim a larger share of it than one and can come out ahead; on an idle box one process already',
    'fills the cores and a second adds its event loop, heartbeats and contention. The CPU per request is',
    'the figure that carries over: what a replica costs on top. Replicas scale with the cores they bring',
    '(another machine, another pod).',
    '',
  ].join('\n');
}
