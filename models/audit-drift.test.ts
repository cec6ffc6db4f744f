/**
 * The cloud's own drift checks (`auditDriftOf`) on audit records built from the committed digits
 * cascade (onnxruntime, 500 inputs of each shifted stream, each tier scored with its config's score
 * kind as the device and the cloud store them): input drift shows in the device scores on every
 * shift, while the cloud's own scores say "reference weak" only where the large model is as poor as
 * the small ones (printed-distorted, thick-noisy), not where it still copes (rotated).
 */
import {
  auditDriftOf,
  type DriftReference,
  PSI_ALARM,
  type ScoredAudit,
  scoreLogitRows,
} from '@fogline/shared';
import { collectStream, SHIFT_PRESETS, type Shift, type ShiftedStreamSpec } from '@fogline/shared/digits';
import { driftReferenceOf } from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CascadeTier, closeCascade, openCascade } from './digits-shifts.ts';
import { runLogits } from './digits-zoo.ts';

const COUNT = 500;
let tiers: CascadeTier[] = [];
let references: { device: DriftReference; cloud: DriftReference };

/** Each tier's routing scores (its config's kind) on a stream. */
async function scoresOn(spec: ShiftedStreamSpec): Promise<{ device: number[]; cloud: number[] }> {
  const data = collectStream(spec);
  const scores = async (t: CascadeTier) =>
    Array.from(scoreLogitRows(await runLogits(t.session, data, 0, data.count), 10, t.policy.score).scores);
  return { device: await scores(tiers[0]!), cloud: await scores(tiers[2]!) };
}

/** One audit record per input (p = 0.02), as the cloud stores them. */
async function auditsOn(shift: Shift, seed = 21): Promise<ScoredAudit[]> {
  const s = await scoresOn({ seed, segments: [{ count: COUNT, shift }] });
  return s.device.map((deviceScore, i) => ({
    source: 'audit',
    p: 0.02,
    deviceModel: 'digits-tiny:1',
    deviceScore,
    cloudModel: 'digits-large:1',
    cloudScore: s.cloud[i]!,
  }));
}

beforeAll(async () => {
  tiers = await openCascade(2);
  // The references as `fogline calibrate` cuts them, on calibration-split inputs.
  const cal = await scoresOn({ source: 'calibration', seed: 5, segments: [{ count: 1000, shift: {} }] });
  references = {
    device: driftReferenceOf(cal.device, tiers[0]!.policy.score, { name: 'digits-tiny', version: 1 }),
    cloud: driftReferenceOf(cal.cloud, tiers[2]!.policy.score, { name: 'digits-large', version: 1 }),
  };
}, 120_000);

afterAll(() => closeCascade(tiers));

describe("the cloud's drift checks on the committed digits cascade", () => {
  it('in distribution: neither the device nor the cloud scores drift', async () => {
    const d = auditDriftOf(await auditsOn({}), references);
    expect(d.device).toMatchObject({ records: COUNT });
    expect(d.device.psi).toBeLessThan(PSI_ALARM);
    expect(d.cloud.psi).toBeLessThan(PSI_ALARM);
    expect(d.cloud.weak).toBe(false);
  });

  it.each(['printed-distorted', 'thick-noisy'] as const)(
    '%s: the inputs drift and the large model is on unfamiliar ground: reference weak',
    async (name) => {
      const d = auditDriftOf(await auditsOn(SHIFT_PRESETS[name]), references);
      expect(d.device.psi).toBeGreaterThan(PSI_ALARM);
      expect(d.cloud.weak).toBe(true);
    },
    60_000,
  );

  it('rotated: the inputs drift, but the large model copes: the reference holds', async () => {
    const d = auditDriftOf(await auditsOn(SHIFT_PRESETS.rotated), references);
    expect(d.device.psi).toBeGreaterThan(PSI_ALARM);
    expect(d.cloud.psi).toBeGreaterThan(PSI_ALARM);
    expect(d.cloud.weak).toBe(false);
  });

  it('gives no PSI below the fewest records, and leaves feedback records out', async () => {
    const audits = await auditsOn(SHIFT_PRESETS['printed-distorted']);
    const few = auditDriftOf(audits.slice(0, 499), references);
    expect(few.device).toEqual({ psi: undefined, records: 499 });
    expect(few.cloud.weak).toBe(false);
    const feedback = audits.map((a) => ({ ...a, source: 'feedback' as const }));
    expect(auditDriftOf(feedback, references).cloud).toEqual({ psi: undefined, records: 0, weak: false });
    // Records of another model version are not compared with this one's histogram.
    const other = audits.map((a) => ({ ...a, cloudModel: 'digits-large:2' }));
    expect(auditDriftOf(other, references).cloud.records).toBe(0);
  });
});
