/**
 * `npm run bench -- drift [--shift <name>]... [--requests 8000] [--seed 1] [--seeds 3] [--window 500]
 *   [--decide-every 100] [--budget 0.25]`: the closed loop on a stream that is in distribution for its
 * first quarter and then shifts (a preset of shared/src/digits/shift-spec.ts), controller off vs on;
 * the detail for `--seed`, the targets also for the `--seeds` − 1 seeds after it (other streams,
 * other audit draws). `--live`: the detailed seed also on the real system (bench/drift/live.ts).
 * Offline: the committed cascade's outputs replayed through the pure code the system runs
 * (bench/drift/simulate.ts: audits, the edge's drift monitor, decidePolicy). Report per window and
 * the targets in bench/reports/drift.{md,json}, the plot in bench/reports/drift.svg.
 */
import { writeFileSync } from 'node:fs';
import { collectStream, isShiftPreset, SHIFT_PRESETS, type ShiftedStreamSpec } from '@fogline/shared/digits';
import type { CascadePolicy } from '@fogline/toolchain';
import { closeCascade, openCascade } from '../models/digits-shifts.ts';
import { calibrationOf } from './drift/calibration.ts';
import { driftSvg } from './drift/drift-svg.ts';
import { RECOVERY, type RunSummary, summarize, targetsOf } from './drift/evaluate.ts';
import { type LiveRun, runLive } from './drift/live.ts';
import { renderDrift } from './drift/markdown.ts';
import { scoreStream } from './drift/scored-stream.ts';
import { simulate } from './drift/simulate.ts';
import { numberFlag } from './lib/flags.ts';
import { reportHead, type Target, withoutMachinePaths, writeReport } from './lib/report.ts';
import { type LatencyFigures, latencyFigures } from './lib/stats.ts';

const DEFAULT_SHIFTS = ['rotated', 'printed', 'printed-distorted'];
const AUDIT_RATE = 0.02;

/** Every value of a repeatable flag. */
function allFlags(args: readonly string[], name: string): string[] {
  return args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1]!] : []));
}

/** One shift on the real system (`--live`): controller off and on, and audits off (the latency baseline). */
export interface LiveResult {
  readonly shift: string;
  readonly off: LiveSummary;
  readonly on: LiveSummary;
  readonly targets: Target[];
  /** The device's answer latency over the whole stream, controller off: audits on (2 %, 20 % in the alarm) vs off. */
  readonly latency: { readonly auditsOn: LatencyFigures; readonly auditsOff: LatencyFigures };
}

export interface LiveSummary extends RunSummary {
  readonly wallSec: number;
  readonly auditsSent: number;
  readonly timeline: LiveRun['timeline'];
  readonly auditPath: LiveRun['auditPath'];
}

export interface ShiftResult {
  readonly shift: string;
  readonly seed: number;
  readonly off: RunSummary;
  readonly on: RunSummary;
  readonly targets: Target[];
}

export default async function run(args: string[] = []): Promise<void> {
  if (args.includes('--help')) {
    console.log(
      'npm run bench -- drift [--shift <preset>]... [--requests 8000] [--seed 1] [--seeds 3] [--window 500] [--decide-every 100] [--budget 0.25] [--live]\n  --live: also runs the detailed seed on the real system (cloud + edge + SDK device on 127.0.0.1), controller off and on',
    );
    return;
  }
  const shifts = allFlags(args, '--shift');
  for (const s of shifts) {
    if (!isShiftPreset(s))
      throw new Error(`--shift: "${s}" is not one of ${Object.keys(SHIFT_PRESETS).join(', ')}`);
  }
  const names = shifts.length > 0 ? shifts : DEFAULT_SHIFTS;
  const requests = Math.round(numberFlag(args, '--requests', 8000));
  const seed = Math.round(numberFlag(args, '--seed', 1));
  const seeds = Math.round(numberFlag(args, '--seeds', 3));
  const window = Math.round(numberFlag(args, '--window', 500));
  const decideEvery = Math.round(numberFlag(args, '--decide-every', 100));
  const budget = numberFlag(args, '--budget', 0.25);
  const shiftAt = Math.round(requests / 4);
  const tiers = await openCascade(2);
  const results: ShiftResult[] = [];
  const live = args.includes('--live');
  const lives: LiveResult[] = [];
  let policy: CascadePolicy;
  try {
    policy = { device: tiers[0]!.policy, edge: tiers[1]!.policy };
    const calItems = await scoreStream(tiers, {
      source: 'calibration',
      seed,
      segments: [{ count: 1500, shift: {} }],
    });
    const calibration = calibrationOf(calItems, policy, { name: tiers[0]!.model, version: 1 });
    for (let k = 0; k < seeds; k++)
      for (const shift of names) {
        const streamSeed = seed + k;
        const spec: ShiftedStreamSpec = {
          seed: streamSeed,
          segments: [
            { count: shiftAt, shift: {} },
            { count: requests - shiftAt, shift: SHIFT_PRESETS[shift as keyof typeof SHIFT_PRESETS] },
          ],
        };
        const items = await scoreStream(tiers, spec);
        const runOne = (controller: boolean) =>
          summarize(
            items,
            simulate({
              items,
              policy,
              ...calibration,
              controller,
              maxCloudShare: budget,
              auditRate: AUDIT_RATE,
              decideEvery,
              histogramEvery: 100,
              msPerRequest: 10,
              seed: streamSeed,
            }),
            controller,
            shiftAt,
            window,
          );
        const off = runOne(false);
        const on = runOne(true);
        results.push({ shift, seed: streamSeed, off, on, targets: targetsOf(shift, on, off, budget) });
        if (live && streamSeed === seed) {
          const data = collectStream(spec);
          const liveRun = async (controller: boolean, auditRate: number) => {
            const r: LiveRun = await runLive({ data, policy, calibration, controller, budget, auditRate });
            console.log(
              `live ${shift}, controller ${controller ? 'on' : 'off'}, audits ${auditRate > 0 ? 'on' : 'off'}: ${r.wallSec.toFixed(0)} s`,
            );
            return r;
          };
          const liveOf = (r: LiveRun, controller: boolean): LiveSummary => ({
            ...summarize(items, r.run, controller, shiftAt, window),
            wallSec: r.wallSec,
            auditsSent: r.auditsSent,
            timeline: r.timeline,
            auditPath: r.auditPath,
          });
          // Audits on and off one after the other, in alternating order from shift to shift (a box whose
          // load drifts then favours neither).
          const quietFirst = names.indexOf(shift) % 2 === 1;
          const quietBefore = quietFirst ? await liveRun(false, 0) : undefined;
          const offRun = await liveRun(false, AUDIT_RATE);
          const quietRun = quietBefore ?? (await liveRun(false, 0));
          const liveOff = liveOf(offRun, false);
          const liveOn = liveOf(await liveRun(true, AUDIT_RATE), true);
          lives.push({
            shift,
            off: liveOff,
            on: liveOn,
            targets: targetsOf(shift, liveOn, liveOff, budget),
            latency: {
              auditsOn: latencyFigures(offRun.latencyMs),
              auditsOff: latencyFigures(quietRun.latencyMs),
            },
          });
          console.log(
            `live ${shift}: recovery ${liveOn.recovery ?? 'never'} requests, then cloud ${liveOn.recovered ? (100 * liveOn.recovered.share.cloud).toFixed(1) : '–'} %`,
          );
        }
        console.log(
          `${shift} (seed ${streamSeed}): recovery ${on.recovery ?? 'never'} requests (off: ${off.recovery ?? 'never'})`,
        );
      }
  } finally {
    await closeCascade(tiers);
  }
  const settings = {
    requests,
    shiftAt,
    seed,
    seeds,
    window,
    decideEvery,
    budget,
    auditRate: AUDIT_RATE,
    recovery: RECOVERY,
  };
  // The JSON keeps per-window figures and decisions for the detailed seed only.
  const brief = (r: ShiftResult) =>
    r.seed === seed
      ? r
      : { ...r, off: { ...r.off, windows: [], decisions: [] }, on: { ...r.on, windows: [], decisions: [] } };
  const report = { ...reportHead('drift', args), settings, policy, results: results.map(brief), live: lives };
  const detailed = results.filter((r) => r.seed === seed);
  writeFileSync(
    new URL('./reports/drift.svg', import.meta.url),
    withoutMachinePaths(
      driftSvg(
        `The loop on shifted digits (offline replay, ${requests} requests, shift at ${shiftAt}, seed ${seed})`,
        detailed.flatMap((r) => panelsOf(r, shiftAt)),
      ),
    ),
  );
  writeReport('drift', report, renderDrift(report));
}

function panelsOf(r: ShiftResult, shiftAt: number) {
  const mid = (w: { start: number; end: number }) => (w.start + w.end) / 2;
  const gapOf = (s: RunSummary) =>
    s.windows.map((w) => [mid(w), 100 * (w.accuracy - w.alwaysCloud)] as const);
  const marks = [{ x: shiftAt, label: `shift: ${r.shift}` }];
  return [
    {
      title: `${r.shift}: accuracy − always-cloud per window`,
      yLabel: 'pp',
      series: [
        { label: 'controller off', color: '#555', dashed: true, points: gapOf(r.off) },
        { label: 'controller on', color: '#cc3311', points: gapOf(r.on) },
      ],
      hLines: [{ y: -0.3, label: '−0.3 pp' }],
      vLines: marks,
    },
    {
      title: `${r.shift}: cloud share and audit rate per window`,
      yLabel: '% of requests',
      series: [
        {
          label: 'cloud share, off',
          color: '#4477aa',
          dashed: true,
          points: r.off.windows.map((w) => [mid(w), 100 * w.share.cloud] as const),
        },
        {
          label: 'cloud share, on',
          color: '#4477aa',
          points: r.on.windows.map((w) => [mid(w), 100 * w.share.cloud] as const),
        },
        {
          label: 'audit rate, on',
          color: '#ee7733',
          points: r.on.windows.map((w) => [mid(w), 100 * w.auditRate] as const),
        },
      ],
      hLines: [
        { y: 25, label: 'cloud budget 25 %' },
        { y: 3, label: 'audits 3 %' },
      ],
      vLines: marks,
    },
  ];
}
