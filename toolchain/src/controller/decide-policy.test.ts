/**
 * The controller's decisions on fixed synthetic records (seeded, so every run sees the same ones)
 * and a manual clock. World: the device's and edge's scores are uniform in [0, 1]; how often each
 * is wrong against the reference depends on its score, and a shift makes the device overconfident.
 */
import { ManualClock, seededRandom } from '@fogline/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CascadePolicy } from '../calibrate/cascade.ts';
import { type ControllerInput, type ControllerState, decidePolicy } from './decide-policy.ts';
import { disagreementOf, type FieldRecord, sharesOf } from './field-records.ts';

interface World {
  /** P(device wrong) at device score s. */
  readonly deviceWrong: (s: number) => number;
  /** P(edge wrong) at edge score e. */
  readonly edgeWrong: (e: number) => number;
  /** P(the cloud is wrong against ground truth); ground truth is attached when > 0 or `labelled`. */
  readonly cloudWrong?: number;
  readonly labelled?: boolean;
}

const IN_DISTRIBUTION: World = {
  deviceWrong: (s) => (s < 0.3 ? 0.5 : 0.002),
  edgeWrong: (e) => (e < 0.2 ? 0.5 : 0.001),
};
/** The device stays confident on inputs it now gets wrong: scores 0.3–0.6 are wrong 30 % of the time. */
const SHIFTED: World = {
  deviceWrong: (s) => (s < 0.3 ? 0.5 : s < 0.6 ? 0.3 : 0.002),
  edgeWrong: IN_DISTRIBUTION.edgeWrong,
};

function recordsOf(world: World, count: number, seed: number, p = 0.02, startMs = 0): FieldRecord[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const truth = i % 10;
    const cloud = random() < (world.cloudWrong ?? 0) ? (truth + 3) % 10 : truth;
    const s = random();
    const e = random();
    const device = random() < world.deviceWrong(s) ? (cloud + 1) % 10 : cloud;
    const edge = random() < world.edgeWrong(e) ? (cloud + 2) % 10 : cloud;
    const labelled = world.labelled || (world.cloudWrong ?? 0) > 0;
    return {
      answers: { device, edge, cloud },
      reference: cloud,
      ...(labelled ? { groundTruth: truth } : {}),
      scores: { device: { maxprob: s }, edge: { margin: e }, cloud: { maxprob: 0.9 } },
      p,
      atMs: startMs + i,
    };
  });
}

const policyOf = (device: number, edge: number): CascadePolicy => ({
  device: { score: 'maxprob', threshold: device },
  edge: { score: 'margin', threshold: edge },
});
const CALIBRATED = policyOf(0.3, 0.2);
const D0 = 0.004;
const FREE: ControllerState = { pinned: false, canary: false, driftAlarm: false, conservative: false };

function input(records: FieldRecord[], over: Partial<ControllerInput> = {}): ControllerInput {
  return {
    records,
    policy: CALIBRATED,
    baseline: { disagreement: D0, cloudAccuracy: 0.99, edgeAgreement: 0.9 },
    state: FREE,
    maxCloudShare: 0.3,
    clock: new ManualClock(1_000_000_000),
    ...over,
  };
}

describe('the controller', () => {
  it('holds in distribution: the calibrated thresholds already meet d0 + 0.3 pp', () => {
    const d = decidePolicy(input(recordsOf(IN_DISTRIBUTION, 10_000, 1)));
    expect(d.action).toBe('hold');
    expect(d.policy).toBeUndefined();
    expect(d.figures.records).toBe(10_000);
    expect(d.figures.disagreement.estimate).toBeLessThan(D0 + 0.003);
    expect(d.figures.share.device).toBeCloseTo(0.7, 1);
  });

  it('after a shift with enough records, re-fits thresholds that disagree less on records it never saw', () => {
    const window = recordsOf(SHIFTED, 10_000, 2);
    const fresh = recordsOf(SHIFTED, 20_000, 3);
    const first = decidePolicy(input(window));
    expect(first.action).toBe('refit');
    expect(first.figures.disagreement.low).toBeGreaterThan(D0 + 0.003);
    // Score kinds stay; the device's threshold rises by at most maxStep (0.25) per decision.
    const p1 = first.policy!;
    expect(p1.device.score).toBe('maxprob');
    expect(p1.edge.score).toBe('margin');
    expect(p1.device.threshold).toBeGreaterThan(0.3);
    expect(p1.device.threshold).toBeLessThanOrEqual(0.55 + 1e-12);
    expect(disagreementOf(fresh, p1).estimate).toBeLessThan(disagreementOf(fresh, CALIBRATED).estimate / 2);
    // The next decision on the next window finishes the move and lands within the objective.
    const second = decidePolicy(input(recordsOf(SHIFTED, 10_000, 4), { policy: p1 }));
    expect(second.action).toBe('refit');
    const p2 = second.policy!;
    expect(p2.device.threshold).toBeGreaterThanOrEqual(0.59);
    expect(disagreementOf(fresh, p2).high).toBeLessThanOrEqual(D0 + 0.003);
    expect(disagreementOf(fresh, p2).estimate).toBeLessThan(disagreementOf(fresh, p1).estimate);
  });

  it('with too few records holds, or after a drift alarm places the fallback from score quantiles, then re-fits once records arrive', () => {
    const few = recordsOf(SHIFTED, 300, 5);
    const quiet = decidePolicy(input(few));
    expect(quiet.action).toBe('hold');
    expect(quiet.why).toMatch(/too few records/);

    // Right after the alarm the record window is empty: nothing to place the fallback on yet.
    const alarm = { ...FREE, driftAlarm: true };
    const early = decidePolicy(input(few.slice(0, 20), { state: alarm }));
    expect(early.action).toBe('hold');
    expect(early.why).toMatch(/waiting for 40 records/);

    // Bounded steps: at 80 % of the budget the edge's threshold needs two of 0.25 to reach its quantile.
    const onConservative = { ...alarm, conservative: true, lastChangeMs: 0 };
    const knobs = { fallbackCloudShare: 0.8 };
    const first = decidePolicy(input(few, { state: alarm, knobs }));
    expect(first.action).toBe('conservative');
    const alarmed = decidePolicy(input(few, { policy: first.policy!, state: onConservative, knobs }));
    expect(alarmed.action).toBe('conservative');
    const safe = alarmed.policy!;
    expect(Math.abs(safe.edge.threshold - first.policy!.edge.threshold)).toBeLessThanOrEqual(0.25 + 1e-9);
    // The device keeps the half it is surest of; the cloud gets about 90 % of its budget (0.3).
    const shares = sharesOf(few, safe);
    expect(shares.device).toBeCloseTo(0.5, 1);
    expect(shares.cloud).toBeGreaterThan(0.22);
    expect(shares.cloud).toBeLessThanOrEqual(0.3);
    expect(safe.device.threshold).toBeGreaterThan(CALIBRATED.device.threshold);
    // On records it never saw it disagrees less than the calibrated policy, within the budget there too.
    const fresh = recordsOf(SHIFTED, 20_000, 6);
    expect(disagreementOf(fresh, safe).estimate).toBeLessThan(disagreementOf(fresh, CALIBRATED).estimate);
    expect(sharesOf(fresh, safe).cloud).toBeLessThanOrEqual(0.3);

    // The same records again: the fallback is in place and stays (no re-placing on noise).
    const waiting = decidePolicy(input(few, { policy: safe, state: onConservative, knobs }));
    expect(waiting.action).toBe('hold');
    expect(waiting.why).toMatch(/fallback is in place/);

    const refit = decidePolicy(input(recordsOf(SHIFTED, 10_000, 7), { policy: safe, state: onConservative }));
    expect(refit.action).toBe('refit');
    expect(disagreementOf(fresh, refit.policy!).estimate).toBeLessThan(disagreementOf(fresh, safe).estimate);
  });

  it('keeps the fallback within the cloud budget', () => {
    const records = recordsOf(SHIFTED, 300, 8);
    const alarmed = decidePolicy(
      input(records, { state: { ...FREE, driftAlarm: true }, maxCloudShare: 0.1 }),
    );
    expect(alarmed.action).toBe('conservative');
    // fallbackCloudShare (70 %) of the budget, measured on the records.
    const cloud = sharesOf(records, alarmed.policy!).cloud;
    expect(cloud).toBeGreaterThan(0.06);
    expect(cloud).toBeLessThanOrEqual(0.1);
  });

  it('reports a weak reference when ground truth shows the cloud is poor, and does not push traffic up', () => {
    const records = recordsOf({ ...SHIFTED, cloudWrong: 0.3 }, 10_000, 9);
    const d = decidePolicy(input(records, { state: { ...FREE, driftAlarm: true } }));
    expect(d.action).toBe('report-weak-reference');
    expect(d.policy).toBeUndefined();
    expect(d.why).toMatch(/ground truth/);
  });

  it('reports a weak reference when edge–cloud agreement collapses', () => {
    const poorEdge: World = { deviceWrong: () => 0.4, edgeWrong: () => 0.4 };
    const d = decidePolicy(input(recordsOf(poorEdge, 2_000, 10), { state: { ...FREE, driftAlarm: true } }));
    expect(d.action).toBe('report-weak-reference');
    expect(d.why).toMatch(/edge–cloud agreement/);
  });

  it('holds while pinned or during a canary, whatever the records say', () => {
    const shifted = recordsOf(SHIFTED, 10_000, 11);
    const pinned = decidePolicy(input(shifted, { state: { ...FREE, pinned: true, driftAlarm: true } }));
    expect(pinned).toMatchObject({ action: 'hold', why: expect.stringMatching(/pinned/) });
    const canary = decidePolicy(input(shifted, { state: { ...FREE, canary: true } }));
    expect(canary).toMatchObject({ action: 'hold', why: expect.stringMatching(/canary/) });
  });

  it('does not flap: a re-fitted policy holds on the same traffic, small gains wait, changes keep a minimum interval', () => {
    const window = recordsOf(SHIFTED, 10_000, 12);
    let policy = CALIBRATED;
    const actions: string[] = [];
    for (let k = 0; k < 4; k++) {
      const d = decidePolicy(input(window, { policy }));
      actions.push(d.action);
      policy = d.policy ?? policy;
    }
    // Two bounded steps up, then it stays.
    expect(actions).toEqual(['refit', 'refit', 'hold', 'hold']);

    // An over-cautious policy that meets the objective: the refit saves a lot, but only after the interval.
    const clock = new ManualClock(1_000_000);
    const cautious = policyOf(0.8, 0.2);
    const records = recordsOf(IN_DISTRIBUTION, 10_000, 13);
    const recent = { ...FREE, lastChangeMs: clock.now() - 60_000 };
    const early = decidePolicy(input(records, { policy: cautious, state: recent, clock }));
    expect(early).toMatchObject({ action: 'hold', why: expect.stringMatching(/minimum/) });
    clock.advance(10 * 60_000);
    const later = decidePolicy(input(records, { policy: cautious, state: recent, clock }));
    expect(later.action).toBe('refit');
    expect(later.policy!.device.threshold).toBeLessThan(0.8);
    expect(later.policy!.device.threshold).toBeGreaterThanOrEqual(0.55 - 1e-12);

    // A gain below minGain is not worth a change.
    const nearly = decidePolicy(input(records, { policy: policyOf(0.31, 0.2), knobs: { minIntervalMs: 0 } }));
    expect(nearly.action).toBe('hold');
  });

  it('weights records by 1/p: a window where the audit rate rose counts each record for what it stands for', () => {
    const before = recordsOf(SHIFTED, 2_000, 14, 0.02);
    const after = recordsOf(IN_DISTRIBUTION, 2_000, 15, 0.2, 10_000);
    const d = decidePolicy(input([...before, ...after], { knobs: { minRecords: 1 } }));
    // The shifted records stand for 10× as many requests: the window reads as mostly shifted.
    expect(d.figures.nEff).toBeLessThan(4_000);
    expect(d.figures.disagreement.estimate).toBeGreaterThan(0.05);
  });

  it('refuses bad input without deciding', () => {
    expect(() => decidePolicy(input([], { maxCloudShare: 0 }))).toThrow(/maxCloudShare/);
    expect(() => decidePolicy(input([], { knobs: { holdOutShare: 1 } }))).toThrow(/holdOutShare/);
    const bad = { ...recordsOf(SHIFTED, 1, 16)[0]!, scores: { device: {}, edge: {}, cloud: {} } };
    expect(() => decidePolicy(input([bad]))).toThrow(/maxprob score/);
  });
});

describe('the controller, for any window', () => {
  const world = fc.record({
    low: fc.double({ min: 0, max: 0.6, noNaN: true }),
    wrongBelow: fc.double({ min: 0, max: 0.6, noNaN: true }),
    wrongAbove: fc.double({ min: 0, max: 0.05, noNaN: true }),
    edgeWrong: fc.double({ min: 0, max: 0.3, noNaN: true }),
  });
  const stage = fc.double({ min: 0, max: 1.01, noNaN: true });

  it('keeps the score kinds, moves each threshold by at most maxStep within [0, 1.01], and decides the same twice', () => {
    fc.assert(
      fc.property(
        world,
        stage,
        stage,
        fc.integer({ min: 0, max: 1500 }),
        fc.boolean(),
        fc.integer(),
        (w, device, edge, count, driftAlarm, seed) => {
          const records = recordsOf(
            {
              deviceWrong: (s) => (s < w.low ? w.wrongBelow : w.wrongAbove),
              edgeWrong: () => w.edgeWrong,
            },
            count,
            seed,
          );
          const run = () =>
            decidePolicy(
              input(records, {
                policy: policyOf(device, edge),
                baseline: { disagreement: 0.02 },
                state: { ...FREE, driftAlarm },
                knobs: { minRecords: 50, margin: 0.02 },
              }),
            );
          const d = run();
          expect(run()).toEqual(d);
          if (d.action === 'hold' || d.action === 'report-weak-reference') {
            expect(d.policy).toBeUndefined();
            return;
          }
          const p = d.policy!;
          expect([p.device.score, p.edge.score]).toEqual(['maxprob', 'margin']);
          for (const [now, next] of [
            [device, p.device.threshold],
            [edge, p.edge.threshold],
          ] as const) {
            expect(Math.abs(next - now)).toBeLessThanOrEqual(0.25 + 1e-9);
            expect(next).toBeGreaterThanOrEqual(0);
            expect(next).toBeLessThanOrEqual(1.01);
          }
          if (d.action === 'conservative') {
            // The fallback: only after an alarm, on enough records, within the cloud budget (0.3) on them.
            expect(driftAlarm).toBe(true);
            expect(records.length).toBeGreaterThanOrEqual(40);
            expect(sharesOf(records, p).cloud).toBeLessThanOrEqual(0.3 + 1e-9);
          }
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});
