/**
 * `npm run bench -- rollout` (docs/operations.md "Rollout"): rounds of a steady window, then the next
 * digits-mid version deployed to two edges under the same steady device traffic; the rounds interleave
 * steady and swap windows, so a noisy box weighs on both alike.
 */
import { pushCommittedModel } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { numberFlag } from '../lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from '../lib/report.ts';
import { type LatencySummary, median, summarize } from '../lib/stats.ts';
import { DeploymentWatch, POLL_MS } from './deployment-watch.ts';
import { SWAP_COLUMNS, type SwapCostLine, swapCosts } from './swap-cost-line.ts';
import { EDGES, type RolloutSystem, startRolloutSystem } from './system.ts';

const HELP = `npm run bench -- rollout [--rounds 8] [--rate 15] [--steady-sec 8] [--after-sec 2] [--healthy-ms 1000]
  \`fogline cloud\` and two \`fogline edge\` processes (digits-mid@1), one SDK device per edge in this process
  at --rate requests/s (open loop);
  --rounds rollouts of digits-mid 2, 3, …, each after its own steady window (8: ~700 requests in the swap
  windows, so their p99 is not two or three stragglers); --after-sec: traffic after all-active;
  --healthy-ms: the canary's healthy time. Swap window: from a deploy to 1 s after the last edge is active.`;
const STATES = ['downloading', 'verifying', 'warming', 'active'] as const;

type Sample = { readonly sentAt: number; readonly ms: number; readonly ok: boolean; readonly served: string };

/** Sends `rate`/s from `device` (no request waits for the last) until `done()`. */
async function steadyTraffic(device: Device, rate: number, done: () => boolean, out: Sample[]) {
  const { images } = testDigits(64);
  const pending: Promise<void>[] = [];
  const began = performance.now();
  for (let i = 0; !done(); i++) {
    const wait = began + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = performance.now();
    const keep = (ok: boolean, served: string) =>
      void out.push({ sentAt, ms: performance.now() - sentAt, ok, served });
    const answer = device.infer(images[i % images.length]!, { deadlineMs: 10_000 });
    const kept = answer.then((r) => keep(r.tier === 'edge' && !r.degraded, r.modelVersions));
    pending.push(kept.catch((err: Error) => keep(false, err.message)));
  }
  await Promise.all(pending);
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** A steady window, then `version` deployed to both edges; each edge's state times (s after deploy). */
async function rollout(sys: RolloutSystem, watch: DeploymentWatch, version: number, setup: Setup) {
  const steadyFrom = performance.now();
  await sleep(setup.steadySec * 1000);
  const at = { perf: performance.now(), wall: Date.now() };
  const body = {
    model: 'digits-mid',
    version,
    edges: [...EDGES],
    canary: 0.5,
    canaryHealthyMs: setup.healthyMs,
  };
  const { id } = await sys.admin.deploy({ ...body, gate: null });
  watch.follow(id, at);
  const seen = await watch.allActive(EDGES);
  const edges = EDGES.map((edge) => ({ edge, states: seen.get(edge)! }));
  const allActiveSec = Math.max(...edges.map((e) => e.states.active!));
  const state = await watch.state(id);
  const swap = [at.perf, at.perf + allActiveSec * 1000 + 1000] as const;
  return {
    id,
    version,
    state,
    at: at.perf,
    allActiveSec,
    edges,
    steady: [steadyFrom, at.perf] as const,
    swap,
  };
}

function readFlags(args: readonly string[]) {
  return {
    rounds: Math.round(numberFlag(args, '--rounds', 8)),
    ratePerDevice: numberFlag(args, '--rate', 15),
    steadySec: numberFlag(args, '--steady-sec', 8),
    afterSec: numberFlag(args, '--after-sec', 2),
    healthyMs: Math.round(numberFlag(args, '--healthy-ms', 1000)),
  };
}

type Rollout = Awaited<ReturnType<typeof rollout>>;
type Setup = ReturnType<typeof readFlags>;

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help')) return console.log(HELP);
  const setup = readFlags(args);
  const sys = await startRolloutSystem();
  const samples: Sample[] = [];
  const watch = new DeploymentWatch(sys.admin);
  let stop = false;
  try {
    // Pushed before the traffic: the store's validation is no part of the rollouts measured.
    for (let k = 0; k < setup.rounds; k++)
      await pushCommittedModel(sys.admin, 'digits-mid', 'digits-mid', k + 2);
    const send = (d: Device) => steadyTraffic(d, setup.ratePerDevice, () => stop, samples);
    const traffic = Promise.all(sys.devices.map(send));
    await sleep(2000);
    const done: Rollout[] = [];
    for (let k = 0; k < setup.rounds; k++) {
      done.push(await rollout(sys, watch, k + 2, setup));
      await sleep(setup.afterSec * 1000);
    }
    stop = true;
    await Promise.all([traffic, watch.stop()]);
    const costs = swapCosts(sys.swapLines());
    const report = { ...reportHead('rollout', args), setup, ...summary(samples, done, costs) };
    writeReport('rollout', report, markdown(report));
  } finally {
    stop = true;
    await watch.stop();
    await sys.stop();
  }
}

/** Steady windows: steadyFrom to the deploy; swap windows: the deploy to 1 s after all-active. */
function summary(samples: readonly Sample[], done: readonly Rollout[], costs: readonly SwapCostLine[]) {
  const pick = (w: 'steady' | 'swap') =>
    samples.filter((s) => done.some(({ [w]: [from, to] }) => s.sentAt >= from && s.sentAt < to));
  const [steadyAll, swapAll] = [pick('steady'), pick('swap')];
  const okMs = (w: readonly Sample[]) => summarize(w.filter((s) => s.ok).map((s) => s.ms));
  const [steady, swap] = [okMs(steadyAll), okMs(swapAll)];
  const failed = samples.filter((s) => !s.ok);
  const served: Record<string, number> = {};
  for (const s of samples) served[s.served] = (served[s.served] ?? 0) + 1; // errors by message
  const p99Ratio = swap.p99Ms / steady.p99Ms;
  const allActive = done.map((r) => r.allActiveSec);
  return {
    requests: { total: samples.length, steady: steadyAll.length, swap: swapAll.length },
    failed: failed.length,
    served,
    latency: { steady, swap, p50Ratio: swap.p50Ms / steady.p50Ms, p99Ratio },
    deployToAllActiveSec: { median: median(allActive), max: Math.max(...allActive) },
    rollouts: done.map(({ at: _a, steady: _s, swap: _w, ...r }) => ({
      ...r,
      edges: r.edges.map((e) => ({ ...e, cost: costs.find((c) => c.id === r.id && c.edge === e.edge) })),
    })),
    targets: [
      target('failed requests', String(failed.length), '0', failed.length === 0),
      target('p99 swap / steady', p99Ratio.toFixed(2), '≤ 2', p99Ratio <= 2),
      target('deploy → all active (median)', `${median(allActive).toFixed(2)} s`, 'reported', true),
    ],
  };
}

function markdown(r: ReturnType<typeof reportHead> & { setup: Setup } & ReturnType<typeof summary>): string {
  const lat = (l: LatencySummary) => `${ms(l.p50Ms)} | ${ms(l.p99Ms)}`;
  const timeline = r.rollouts.flatMap((d) =>
    d.edges.map(
      (e) => `@${d.version} ${e.edge} | ${STATES.map((s) => e.states[s]?.toFixed(2) ?? '–').join(' | ')}`,
    ),
  );
  const costRows = r.rollouts.flatMap((d) =>
    d.edges.map(
      (e) => `@${d.version} ${e.edge} | ${SWAP_COLUMNS.map((c) => e.cost?.ms[c] ?? '–').join(' | ')}`,
    ),
  );
  return [
    '# Rollout under steady traffic',
    '',
    `\`${r.command}\` · ${machineLine(r.at, r.machine)}`,
    '',
    `\`fogline cloud\` and two \`fogline edge\` processes (digits-mid@1, one worker of one thread each), one SDK device per edge in the bench's process sending ${r.setup.ratePerDevice} requests/s (open loop), every request answered by its edge.`,
    `${r.setup.rounds} rounds: ${r.setup.steadySec} s steady, then the next digits-mid version (pushed before the traffic) is deployed to both (canary 50 %, healthy time ${r.setup.healthyMs} ms, no gate).`,
    `Swap window: requests sent from a deploy until 1 s after the last edge reported active. Latency: device-observed, whole call. Deployments end: ${r.rollouts.map((d) => d.state).join(', ')}.`,
    '',
    targetsTable(r.targets),
    '',
    table('window (all rounds) | requests | p50 ms | p99 ms', [
      `steady | ${r.requests.steady} | ${lat(r.latency.steady)}`,
      `swap | ${r.requests.swap} | ${lat(r.latency.swap)}`,
      `swap / steady | | ${r.latency.p50Ratio.toFixed(2)} | ${r.latency.p99Ratio.toFixed(2)}`,
    ]),
    '',
    `Each edge's state as first seen in the deployment's view (the admin API, read every ${POLL_MS} ms all along; a shorter state may not show; \`active\`: when the cloud got the report), seconds after the deploy call:\n`,
    table(`version, edge | ${STATES.join(' | ')}`, timeline),
    '',
    "What each swap cost the edge, from its log line (the deployer's `serving …`: each phase's time, and the event loop's delay while it ran, monitorEventLoopDelay):\n",
    table(`version, edge | ${SWAP_COLUMNS.join(' | ')}`, costRows),
    '',
  ].join('\n');
}
