/**
 * The controller's weak-reference rule on records built from the committed digits cascade
 * (onnxruntime, a few hundred inputs of each shifted stream, labelled so ground truth is there):
 * where the large model is as poor as the small ones it must not push traffic up, while on a shift
 * the large model copes with it still falls back to escalating more.
 */
import { ManualClock, SCORE_KINDS, type ScoredRows, type ScoreKind, scoreLogitRows } from '@fogline/shared';
import { collectStream, SHIFT_PRESETS, type Shift, type ShiftedStreamSpec } from '@fogline/shared/digits';
import {
  type CascadePolicy,
  type ControllerBaseline,
  type ControllerInput,
  decidePolicy,
  disagreementOf,
  driftReferenceOf,
  type FieldRecord,
} from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CascadeTier, closeCascade, openCascade } from './digits-shifts.ts';
import { runLogits } from './digits-zoo.ts';

const COUNT = 500;
/** The cloud's own score whose histogram on the audits is compared with calibration. */
const CLOUD_SCORE: ScoreKind = 'margin';
const TIER_NAMES = ['device', 'edge', 'cloud'] as const;
let tiers: CascadeTier[] = [];
let policy: CascadePolicy;
let baseline: ControllerBaseline;

/** One audited record per stream item (p = 0.02), with the label as ground truth when `labelled`. */
async function recordsOn(spec: ShiftedStreamSpec, labelled: boolean): Promise<FieldRecord[]> {
  const data = collectStream(spec);
  const perTier: Record<ScoreKind, ScoredRows>[] = [];
  for (const t of tiers) {
    const logits = await runLogits(t.session, data, 0, data.count);
    perTier.push(
      Object.fromEntries(SCORE_KINDS.map((k) => [k, scoreLogitRows(logits, 10, k)])) as Record<
        ScoreKind,
        ScoredRows
      >,
    );
  }
  return Array.from({ length: data.count }, (_, i) => {
    const answerOf = (k: number) => perTier[k]!.maxprob.labels[i]!;
    const scoresOf = (k: number) =>
      Object.fromEntries(SCORE_KINDS.map((s) => [s, perTier[k]![s].scores[i]!]));
    return {
      answers: { device: answerOf(0), edge: answerOf(1), cloud: answerOf(2) },
      reference: answerOf(2),
      ...(labelled ? { groundTruth: data.labels[i]! } : {}),
      scores: { device: scoresOf(0), edge: scoresOf(1), cloud: scoresOf(2) },
      p: 0.02,
      atMs: i,
    };
  });
}

const stream = (shift: Shift, seed = 21): ShiftedStreamSpec => ({
  seed,
  segments: [{ count: COUNT, shift }],
});

beforeAll(async () => {
  tiers = await openCascade(2);
  policy = { device: tiers[0]!.policy, edge: tiers[1]!.policy };
  // The baseline as `fogline calibrate` measures it, here on calibration-split inputs.
  const cal = await recordsOn(
    { source: 'calibration', seed: 5, segments: [{ count: 1000, shift: {} }] },
    true,
  );
  const share = (ok: (r: FieldRecord) => boolean) => cal.filter(ok).length / cal.length;
  baseline = {
    disagreement: disagreementOf(
      cal.map(({ groundTruth: _, ...r }) => r),
      policy,
    ).estimate,
    edgeAgreement: share((r) => r.answers.edge === r.answers.cloud),
    cloudAccuracy: share((r) => r.answers.cloud === r.groundTruth),
    cloudScores: driftReferenceOf(
      cal.map((r) => r.scores.cloud[CLOUD_SCORE]!),
      CLOUD_SCORE,
      { name: 'digits-large', version: 1 },
    ),
  };
}, 120_000);

afterAll(() => closeCascade(tiers));

const decide = (records: FieldRecord[], driftAlarm: boolean) => {
  const input: ControllerInput = {
    records,
    policy,
    baseline,
    state: { pinned: false, canary: false, driftAlarm, conservative: false },
    maxCloudShare: 0.25,
    clock: new ManualClock(),
  };
  return decidePolicy(input);
};

describe('the controller on the committed digits cascade', () => {
  it('in distribution: the reference is trusted and, with a few hundred records, the policy holds', async () => {
    const d = decide(await recordsOn(stream({}), true), false);
    expect(d.action).toBe('hold');
    expect(d.figures.records).toBe(COUNT);
    expect(d.figures.share[TIER_NAMES[0]]).toBeGreaterThan(0.9);
  });

  it.each(['printed-distorted', 'thick-noisy'] as const)(
    '%s: the large model is as poor as the small ones, so it reports a weak reference and pushes nothing up',
    async (name) => {
      const d = decide(await recordsOn(stream(SHIFT_PRESETS[name]), true), true);
      expect(d.action).toBe('report-weak-reference');
      expect(d.policy).toBeUndefined();
      // Without labels, the drift of the cloud's own scores still gives it away.
      const unlabelled = decide(await recordsOn(stream(SHIFT_PRESETS[name], 22), false), true);
      expect(unlabelled.action).toBe('report-weak-reference');
    },
    60_000,
  );

  it('rotated: the large model copes, so after the drift alarm it escalates more', async () => {
    const d = decide(await recordsOn(stream(SHIFT_PRESETS.rotated), true), true);
    expect(d.action).toBe('conservative');
    expect(d.policy!.device.threshold).toBeGreaterThan(policy.device.threshold);
  });
});
