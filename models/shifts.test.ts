import { collectStream, SHIFT_PRESETS, type Shift } from '@fogline/shared/digits';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CascadeTier,
  closeCascade,
  measureShift,
  openCascade,
  type ShiftMeasurement,
} from './digits-shifts.ts';

// The named shifts do to the committed cascade what docs/data.md says, measured with onnxruntime on a
// few hundred inputs each (the full figures: npm run bench -- shifts).
const COUNT = 300;
let tiers: CascadeTier[] = [];
const measured = new Map<string, ShiftMeasurement>();
const TINY = 0;
const LARGE = 2;

beforeAll(async () => {
  tiers = await openCascade(2);
  const shifts: [string, Shift][] = [['none', {}], ...Object.entries(SHIFT_PRESETS)];
  for (const [name, shift] of shifts) {
    measured.set(
      name,
      await measureShift(tiers, collectStream({ seed: 11, segments: [{ count: COUNT, shift }] })),
    );
  }
});

afterAll(() => closeCascade(tiers));

const m = (name: string) => measured.get(name)!;

describe('the named shifts on the digits cascade', () => {
  it('unshifted: every model near its test accuracy, the device answers almost everything', () => {
    for (const a of m('none').accuracy) expect(a).toBeGreaterThan(0.95);
    expect(m('none').share[0]).toBeGreaterThan(0.9);
  });

  it('every shift costs the device model at least 5 pp', () => {
    for (const name of Object.keys(SHIFT_PRESETS)) {
      expect(m(name).accuracy[TINY], name).toBeLessThan(m('none').accuracy[TINY]! - 0.05);
    }
  });

  it('rotated: the device stays confident while wrong, and the cascade falls below always-cloud', () => {
    const r = m('rotated');
    expect(r.share[0]).toBeGreaterThan(0.7);
    expect(r.deviceAnsweredAccuracy).toBeLessThan(0.95);
    expect(r.cascadeAccuracy).toBeLessThan(r.accuracy[LARGE]! - 0.01);
  });

  it('printed: the large model copes, the tiny one does not', () => {
    expect(m('printed').accuracy[LARGE]).toBeGreaterThan(m('printed').accuracy[TINY]! + 0.05);
  });

  it('printed-distorted and thick-noisy: the cloud is no better than the device (a weak reference)', () => {
    const p = m('printed-distorted');
    expect(p.accuracy[LARGE]).toBeLessThan(0.8);
    expect(p.accuracy[LARGE]).toBeLessThan(p.accuracy[TINY]! + 0.1);
    const t = m('thick-noisy');
    expect(t.accuracy[LARGE]).toBeLessThan(t.accuracy[TINY]!);
  });
});
