/**
 * One shift of the drift bench, offline: the scored stream replayed with the controller off and on
 * (simulate.ts), and what the report says about each run — in distribution, recovery, after it, once
 * settled — with the targets judged on the run with the controller on.
 */
import type { ControllerAction } from '@fogline/toolchain';
import { pct, type Target, target } from '../lib/report.ts';
import type { ScoredItem } from './scored-stream.ts';
import type { Simulation } from './simulate.ts';
import { figuresOf, requestsToRecover, type WindowFigures, windowsOf } from './windows.ts';

export const RECOVERY = { tolerance: 0.003, span: 1000, step: 100 } as const;

export interface RunSummary {
  readonly controller: boolean;
  readonly inDistribution: WindowFigures;
  /** After the shift, all of it. */
  readonly shifted: WindowFigures;
  /** Requests from the shift until accuracy is back within 0.3 pp of always-cloud (RECOVERY), if ever. */
  readonly recovery: number | undefined;
  /** From the recovery point to the end. */
  readonly recovered: WindowFigures | undefined;
  /** Request at which the alarm settled after the shift, and the figures from there to the end. */
  readonly settledAt: number | undefined;
  readonly settled: WindowFigures | undefined;
  readonly alarmsAt: readonly number[];
  readonly actions: Readonly<Partial<Record<ControllerAction, number>>>;
  readonly firstWeakReferenceAt: number | undefined;
  readonly windows: readonly WindowFigures[];
  readonly decisions: Simulation['decisions'];
  readonly finalPolicy: Simulation['finalPolicy'];
}

export function summarize(
  items: readonly ScoredItem[],
  sim: Simulation,
  controller: boolean,
  shiftAt: number,
  window: number,
): RunSummary {
  const n = sim.requests.length;
  const recovery = requestsToRecover(items, sim.requests, shiftAt, RECOVERY);
  const settledAt = sim.alarms.find((a) => !a.alarm && a.at >= shiftAt)?.at;
  const actions: Partial<Record<ControllerAction, number>> = {};
  for (const d of sim.decisions) actions[d.action] = (actions[d.action] ?? 0) + 1;
  return {
    controller,
    inDistribution: figuresOf(items, sim.requests, 0, shiftAt),
    shifted: figuresOf(items, sim.requests, shiftAt, n),
    recovery,
    recovered: recovery === undefined ? undefined : figuresOf(items, sim.requests, shiftAt + recovery, n),
    settledAt,
    settled: settledAt === undefined ? undefined : figuresOf(items, sim.requests, settledAt + 1, n),
    alarmsAt: sim.alarms.filter((a) => a.alarm).map((a) => a.at),
    actions,
    firstWeakReferenceAt: sim.decisions.find((d) => d.action === 'report-weak-reference')?.at,
    windows: windowsOf(items, sim.requests, window),
    decisions: sim.decisions,
    finalPolicy: sim.finalPolicy,
  };
}

const gap = (f: WindowFigures) => f.accuracy - f.alwaysCloud;
export const pp = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} pp`;

/**
 * The targets on the run with the controller on. A shift where the controller reported a weak
 * reference is judged instead on not pushing traffic up (cloud share no higher than with it off).
 */
export function targetsOf(shift: string, on: RunSummary, off: RunSummary, budget: number): Target[] {
  const inD = on.inDistribution;
  const t: Target[] = [
    target(
      `${shift}: in distribution, accuracy − always-cloud`,
      pp(gap(inD)),
      '≥ −0.20 pp',
      gap(inD) >= -0.002,
    ),
    target(`${shift}: in distribution, cloud share`, pct(inD.share.cloud), '≤ 2 %', inD.share.cloud <= 0.02),
    target(
      `${shift}: in distribution, audit rate`,
      pct(inD.auditRate),
      '≤ 2 %',
      inD.auditRate <= 0.02 + 1e-9,
    ),
  ];
  if (on.firstWeakReferenceAt !== undefined) {
    t.push(
      target(
        `${shift}: weak reference reported, cloud share after the shift`,
        `${pct(on.shifted.share.cloud)} (off: ${pct(off.shifted.share.cloud)})`,
        '≤ controller off',
        on.shifted.share.cloud <= off.shifted.share.cloud + 1e-9,
      ),
    );
    return t;
  }
  t.push(
    target(
      `${shift}: requests from the shift until within 0.3 pp of always-cloud`,
      on.recovery === undefined ? 'never' : String(on.recovery),
      '≤ 1,000',
      on.recovery !== undefined && on.recovery <= 1000,
    ),
  );
  const rec = on.recovered;
  t.push(
    target(
      `${shift}: after recovery, cloud share`,
      rec ? pct(rec.share.cloud) : '–',
      `≤ ${pct(budget, 0)}`,
      rec !== undefined && rec.share.cloud <= budget,
    ),
    target(
      `${shift}: audit rate once settled`,
      on.settled ? `${pct(on.settled.auditRate)} (from request ${on.settledAt})` : 'never settled',
      '≤ 3 %',
      on.settled !== undefined && on.settled.auditRate <= 0.03,
    ),
  );
  return t;
}
