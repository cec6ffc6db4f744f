/**
 * `npm run bench -- rollout`: new edge models rolled out to two edges under steady traffic
 * (docs/operations.md "Rollout"). Each edge's SDK device sends a fixed request rate (open loop). Each
 * round: a steady window, then the next digits-mid version is deployed to both edges (canary 50 %,
 * short healthy time) and traffic goes on until both report active and a little after. Rounds
 * interleave steady and swap windows, so a noisy box weighs on both alike. Reported: failed requests,
 * device-observed latency steady vs swap (a ratio), deploy → all-active, each edge's timeline.
 */
import { pushCommittedModel } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { numberFlag } from '../lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from '../lib/report.ts';
import { type LatencySummary, median, summarize } from '../lib/stats.ts';
import { EDGES, type RolloutSystem, startRolloutSystem } from './system.ts';

const HELP = `npm run bench -- rollout [--rounds 3] [--rate 15] [--steady-sec 8] [--after-sec 2] [--healthy-ms 1000]
  a cloud, two edge agents serving digits-mid@1 and one SDK device per edge, on 127.0.0.1 in this process
  --rounds      rollouts, each of the next version (2, 3, …) after its own steady window (default 3)
  --rate        requests per second per device, open loop (default 15: the 2-core box sustains it)
  --steady-sec  each round's steady window before its deploy (default 8; 2 s of warm-up before the first)
  --after-sec   traffic kept going after both edges report active (default 2)
  --healthy-ms  how long the canary edge stays active before the other edge gets it (default 1000)
The swap window: requests sent from a deploy until 1 s after the last edge reported active.`;
const STATES = ['downloading', 'verifying', 'warming', 'active'] as const;

interface Sample {
  readonly sentAt: number;
  readonly ms: number;
  readonly ok: boolean;
  readonly served: string;
}

/** Sends `rate`/s from `device` (no request waits for the last) until `done()`. */
async function steadyTraffic(device: Device, rate: number, done: () => boolean, out: Sample[]) {
  const { images } = testDigits(64);
  const pending: Promise<void>[] = [];
  const began = performance.now();
  for (let i = 0; !done(); i++) {
    const wait = began + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = performance.now();
    const keep = (ok: boolean, served: string) => {
      out.push({ sentAt, ms: performance.now() - sentAt, ok, served });
    };
    pending.push(
      device.infer(images[i % images.length]!, { deadlineMs: 10_000 }).then(
        (r) => keep(r.tier === 'edge' && !r.degraded, r.modelVersions),
        (err: Error) => keep(false, err.message),
      ),
    );
  }
  await Promise.all(pending);
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** Deploys `version` to both edges; resolves with each edge's state times (s after deploy) once all are active. */
async function rollout(sys: RolloutSystem, version: number, healthyMs: number) {
  const at = performance.now();
  const { id } = await sys.cloud.admin.deploy({
    model: 'digits-mid',
    version,
    edges: [...EDGES],
    canary: 0.5,
    canaryHealthyMs: healthyMs,
    gate: null,
  });
  const mine = () => sys.reports.filter((r) => r.report.id === id);
  const end = at + 120_000;
  while (EDGES.some((e) => !mine().some((r) => r.edge === e && r.report.state === 'active'))) {
    const bad = mine().find((r) => r.report.state === 'failed' || r.report.state === 'rolled_back');
    if (bad)
      throw new Error(`rollout bench: ${bad.edge} ${bad.report.state}: ${bad.report.failure?.message}`);
    if (performance.now() > end) throw new Error(`rollout bench: ${id} not all active in 120 s`);
    await sleep(25);
  }
  const edges = EDGES.map((edge) => {
    const states: Record<string, number> = {};
    for (const r of mine()) if (r.edge === edge) states[r.report.state] ??= (r.at - at) / 1000;
    return { edge, states };
  });
  const allActiveSec = Math.max(...edges.map((e) => e.states.active!));
  const final = await sys.cloud.admin.deployment(id);
  return { id, version, state: final.state, at, allActiveSec, edges };
}

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help')) return console.log(HELP);
  const rounds = Math.round(numberFlag(args, '--rounds', 3));
  const rate = numberFlag(args, '--rate', 15);
  const steadySec = numberFlag(args, '--steady-sec', 8);
  const afterSec = numberFlag(args, '--after-sec', 2);
  const healthyMs = Math.round(numberFlag(args, '--healthy-ms', 1000));
  const sys = await startRolloutSystem();
  const samples: Sample[] = [];
  let stop = false;
  try {
    // Pushed before the traffic: the store's validation is no part of the rollouts measured.
    for (let k = 0; k < rounds; k++)
      await pushCommittedModel(sys.cloud.admin, 'digits-mid', 'digits-mid', k + 2);
    const traffic = Promise.all(sys.devices.map((d) => steadyTraffic(d, rate, () => stop, samples)));
    await sleep(2000);
    const windows: { steady: [number, number]; swap: [number, number] }[] = [];
    const done: Awaited<ReturnType<typeof rollout>>[] = [];
    for (let k = 0; k < rounds; k++) {
      const steadyFrom = performance.now();
      await sleep(steadySec * 1000);
      const r = await rollout(sys, k + 2, healthyMs);
      done.push(r);
      windows.push({ steady: [steadyFrom, r.at], swap: [r.at, r.at + r.allActiveSec * 1000 + 1000] });
      await sleep(afterSec * 1000);
    }
    stop = true;
    await traffic;
    const pick = (w: 'steady' | 'swap') =>
      samples.filter((s) => windows.some(({ [w]: [from, to] }) => s.sentAt >= from && s.sentAt < to));
    const steadyAll = pick('steady');
    const swapAll = pick('swap');
    const steady = summarize(steadyAll.filter((s) => s.ok).map((s) => s.ms));
    const swap = summarize(swapAll.filter((s) => s.ok).map((s) => s.ms));
    const failed = samples.filter((s) => !s.ok);
    const served: Record<string, number> = {};
    for (const s of samples) if (s.ok) served[s.served] = (served[s.served] ?? 0) + 1;
    const p99Ratio = swap.p99Ms / steady.p99Ms;
    const allActive = done.map((r) => r.allActiveSec);
    const report = {
      ...reportHead('rollout', args),
      setup: {
        edges: EDGES.length,
        rounds,
        ratePerDevice: rate,
        steadySec,
        afterSec,
        canary: 0.5,
        healthyMs,
      },
      requests: { total: samples.length, steady: steadyAll.length, swap: swapAll.length },
      failed: failed.length,
      failures: [...new Set(failed.map((s) => s.served))].slice(0, 5),
      served,
      latency: { steady, swap, p50Ratio: swap.p50Ms / steady.p50Ms, p99Ratio },
      deployToAllActiveSec: { median: median(allActive), max: Math.max(...allActive) },
      rollouts: done.map(({ at: _, ...r }) => r),
      targets: [
        target('failed requests', String(failed.length), '0', failed.length === 0),
        target('p99 swap / steady', p99Ratio.toFixed(2), '≤ 2', p99Ratio <= 2),
        target('deploy → all active (median)', `${median(allActive).toFixed(2)} s`, 'reported', true),
      ],
    };
    writeReport('rollout', report, markdown(report));
  } finally {
    stop = true;
    await sys.stop();
  }
}

function markdown(r: {
  at: string;
  command: string;
  machine: ReturnType<typeof reportHead>['machine'];
  setup: { rounds: number; ratePerDevice: number; steadySec: number; healthyMs: number };
  requests: { total: number; steady: number; swap: number };
  served: Record<string, number>;
  latency: { steady: LatencySummary; swap: LatencySummary; p50Ratio: number; p99Ratio: number };
  rollouts: Omit<Awaited<ReturnType<typeof rollout>>, 'at'>[];
  targets: ReturnType<typeof target>[];
}): string {
  const lat = (name: string, l: LatencySummary, n: number) =>
    `${name} | ${n} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)}`;
  const sec = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));
  const timeline = r.rollouts.flatMap((d) =>
    d.edges.map((e) => `@${d.version} ${e.edge} | ${STATES.map((s) => sec(e.states[s])).join(' | ')}`),
  );
  return [
    '# Rollout under steady traffic',
    '',
    `\`${r.command}\` · ${machineLine(r.at, r.machine)}`,
    '',
    `Two edge agents (digits-mid@1) in one process with the cloud, one SDK device each sending`,
    `${r.setup.ratePerDevice} requests/s to its edge (open loop). ${r.setup.rounds} rounds: ${r.setup.steadySec} s steady, then the`,
    'next digits-mid version (pushed before the traffic) is deployed to both (canary 50 %, healthy time',
    `${r.setup.healthyMs} ms, no gate). Swap window: requests sent from a deploy until 1 s after the last edge`,
    `reported active. Latency: device-observed, whole call. Deployments end: ${r.rollouts.map((d) => d.state).join(', ')}.`,
    '',
    targetsTable(r.targets),
    '',
    table('window (all rounds) | requests | p50 ms | p99 ms', [
      lat('steady', r.latency.steady, r.requests.steady),
      lat('swap', r.latency.swap, r.requests.swap),
      `swap / steady | | ${r.latency.p50Ratio.toFixed(2)} | ${r.latency.p99Ratio.toFixed(2)}`,
    ]),
    '',
    "Each edge's first report of each state, seconds after the deploy call:",
    '',
    table(`version, edge | ${STATES.join(' | ')}`, timeline),
    '',
    `Answers by version: ${Object.entries(r.served)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ')} (of ${r.requests.total} requests).`,
    '',
  ].join('\n');
}
