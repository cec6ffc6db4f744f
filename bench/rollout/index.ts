/**
 * `npm run bench -- rollout`: a new edge model rolled out to two edges under steady traffic
 * (docs/operations.md "Rollout"). Each edge's SDK device sends a fixed request rate (open loop);
 * after a steady window, digits-mid@2 is pushed and deployed to both edges (canary 50 %, short
 * healthy time), and traffic goes on until both report active and a little after. Reported: failed
 * requests, the device-observed latency steady vs during the swap (same run: a ratio), the time from
 * `deploy` to all-active, and each edge's timeline from its reported states.
 */
import { pushCommittedModel } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { numberFlag } from '../lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from '../lib/report.ts';
import { type LatencySummary, round, summarize } from '../lib/stats.ts';
import { EDGES, startRolloutSystem, type TimedReport } from './system.ts';

const HELP = `npm run bench -- rollout [--rate 15] [--steady-sec 8] [--after-sec 2] [--healthy-ms 1000]
  a cloud, two edge agents serving digits-mid@1 and one SDK device per edge, on 127.0.0.1 in this process
  --rate        requests per second per device, open loop (default 15: the 2-core box sustains it)
  --steady-sec  the steady window measured before the deploy (default 8; 2 s of warm-up before it)
  --after-sec   traffic kept going after both edges report active (default 2)
  --healthy-ms  how long the canary edge stays active before the other edge gets it (default 1000)
The swap window: requests sent from the deploy until 1 s after the last edge reported active.`;

interface Sample {
  readonly sentAt: number;
  readonly ms: number;
  readonly ok: boolean;
  readonly served: string;
}

/** Sends `rate`/s from `device` (each request not waiting for the last) until `done()`. */
async function steadyTraffic(device: Device, rate: number, done: () => boolean, out: Sample[]) {
  const { images } = testDigits(64);
  const pending: Promise<void>[] = [];
  const began = performance.now();
  for (let i = 0; !done(); i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now();
    pending.push(
      device.infer(images[i % images.length]!, { deadlineMs: 10_000 }).then(
        (r) => {
          const ok = r.tier === 'edge' && !r.degraded;
          out.push({ sentAt, ms: performance.now() - sentAt, ok, served: r.modelVersions });
        },
        (err: Error) => {
          out.push({ sentAt, ms: performance.now() - sentAt, ok: false, served: err.message });
        },
      ),
    );
  }
  await Promise.all(pending);
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

async function waitFor(check: () => boolean, timeoutMs: number, what: string) {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`rollout bench: ${what} not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Each edge's first report of each state, in seconds after the deploy. */
function timelines(reports: readonly TimedReport[], id: string, deployAt: number) {
  return EDGES.map((edge) => {
    const states: Record<string, number> = {};
    for (const r of reports) {
      if (r.edge !== edge || r.report.id !== id) continue;
      states[r.report.state] ??= (r.at - deployAt) / 1000;
    }
    return { edge, states };
  });
}

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help')) {
    console.log(HELP);
    return;
  }
  const rate = numberFlag(args, '--rate', 15);
  const steadySec = numberFlag(args, '--steady-sec', 8);
  const afterSec = numberFlag(args, '--after-sec', 2);
  const healthyMs = Math.round(numberFlag(args, '--healthy-ms', 1000));
  const sys = await startRolloutSystem();
  const samples: Sample[] = [];
  let stop = false;
  try {
    // Pushed before the traffic: the store's validation is no part of the rollout measured.
    await pushCommittedModel(sys.cloud.admin, 'digits-mid', 'digits-mid', 2);
    const traffic = Promise.all(sys.devices.map((d) => steadyTraffic(d, rate, () => stop, samples)));
    const steadyFrom = performance.now() + 2000;
    await sleep(2000 + steadySec * 1000);
    const deployAt = performance.now();
    const deployment = await sys.cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [...EDGES],
      canary: 0.5,
      canaryHealthyMs: healthyMs,
      gate: null,
    });
    const activeAt = (edge: string) =>
      sys.reports.find((r) => r.edge === edge && r.report.id === deployment.id && r.report.state === 'active')
        ?.at;
    const failedReport = () =>
      sys.reports.find(
        (r) => r.report.id === deployment.id && ['failed', 'rolled_back'].includes(r.report.state),
      );
    await waitFor(
      () => EDGES.every((e) => activeAt(e) !== undefined) || !!failedReport(),
      120_000,
      'all-active',
    );
    const failure = failedReport();
    if (failure)
      throw new Error(
        `rollout bench: ${failure.edge} ${failure.report.state}: ${failure.report.failure?.message}`,
      );
    const allActiveAt = Math.max(...EDGES.map((e) => activeAt(e)!));
    await sleep(afterSec * 1000);
    stop = true;
    await traffic;
    const final = await sys.cloud.admin.deployment(deployment.id);
    const swapEnd = allActiveAt + 1000;
    const latencies = (from: number, to: number) =>
      summarize(samples.filter((s) => s.sentAt >= from && s.sentAt < to && s.ok).map((s) => s.ms));
    const steady = latencies(steadyFrom, deployAt);
    const swap = latencies(deployAt, swapEnd);
    const counts = (from: number, to: number) =>
      samples.filter((s) => s.sentAt >= from && s.sentAt < to).length;
    const failed = samples.filter((s) => !s.ok);
    const served: Record<string, number> = {};
    for (const s of samples) if (s.ok) served[s.served] = (served[s.served] ?? 0) + 1;
    const p99Ratio = swap.p99Ms / steady.p99Ms;
    const deployToActiveSec = (allActiveAt - deployAt) / 1000;
    const head = reportHead('rollout', args);
    const report = {
      ...head,
      setup: {
        edges: EDGES.length,
        ratePerDevice: rate,
        steadySec,
        afterSec,
        canary: 0.5,
        canaryHealthyMs: healthyMs,
      },
      requests: {
        total: samples.length,
        steady: counts(steadyFrom, deployAt),
        swap: counts(deployAt, swapEnd),
      },
      failed: failed.length,
      failures: [...new Set(failed.map((s) => s.served))].slice(0, 5),
      served,
      latency: { steady, swap, p99Ratio, p50Ratio: swap.p50Ms / steady.p50Ms },
      deployToAllActiveSec: deployToActiveSec,
      deployment: { id: final.id, state: final.state },
      timelines: timelines(sys.reports, deployment.id, deployAt),
      targets: [
        target('failed requests', String(failed.length), '0', failed.length === 0),
        target('p99 swap / steady', p99Ratio.toFixed(2), '≤ 2', p99Ratio <= 2),
        target('deploy → all active', `${deployToActiveSec.toFixed(2)} s`, 'reported', true),
      ],
    };
    writeReport('rollout', report, markdown(report));
  } finally {
    stop = true;
    await sys.stop();
  }
}

type Report = {
  at: string;
  command: string;
  machine: ReturnType<typeof reportHead>['machine'];
  setup: { ratePerDevice: number; canaryHealthyMs: number; steadySec: number };
  requests: { total: number; steady: number; swap: number };
  served: Record<string, number>;
  latency: { steady: LatencySummary; swap: LatencySummary; p99Ratio: number; p50Ratio: number };
  deployment: { state: string };
  timelines: { edge: string; states: Record<string, number> }[];
  targets: ReturnType<typeof target>[];
};

function markdown(r: Report): string {
  const lat = (name: string, l: LatencySummary, n: number) =>
    `${name} | ${n} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)}`;
  const states = ['downloading', 'verifying', 'warming', 'active'];
  const sec = (x: number | undefined) => (x === undefined ? '–' : `${round(x, 3).toFixed(3)}`);
  return [
    '# Rollout under steady traffic',
    '',
    `\`${r.command}\` · ${machineLine(r.at, r.machine)}`,
    '',
    `Two edge agents (digits-mid@1), one SDK device each sending ${r.setup.ratePerDevice} requests/s to its edge`,
    `(open loop); after ${r.setup.steadySec} s steady, digits-mid@2 (pushed before the traffic) is deployed to both (canary 50 %,`,
    `healthy time ${r.setup.canaryHealthyMs} ms, no gate). Swap window: requests sent from the deploy until 1 s`,
    `after the last edge reported active. Latency: device-observed, whole call. Deployment ends \`${r.deployment.state}\`.`,
    '',
    targetsTable(r.targets),
    '',
    table('window | requests | p50 ms | p99 ms', [
      lat('steady', r.latency.steady, r.requests.steady),
      lat('swap', r.latency.swap, r.requests.swap),
      `swap / steady | | ${r.latency.p50Ratio.toFixed(2)} | ${r.latency.p99Ratio.toFixed(2)}`,
    ]),
    '',
    "Each edge's reported states, seconds after the deploy call (first report of each):",
    '',
    table(
      `edge | ${states.join(' | ')}`,
      r.timelines.map((t) => `${t.edge} | ${states.map((s) => sec(t.states[s])).join(' | ')}`),
    ),
    '',
    `Answers by serving version: ${Object.entries(r.served)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ')} (of ${r.requests.total} requests).`,
    '',
  ].join('\n');
}
