/**
 * What `fogline calibrate` gives the loop, measured here on the calibration split: the drift
 * reference (the device model's histogram of its routing score) and the controller's baseline (d0,
 * the cloud's accuracy and score histogram, edge–cloud agreement). Never on the stream evaluated.
 */
import type { DriftReference } from '@fogline/shared';
import {
  type CascadePolicy,
  type ControllerBaseline,
  disagreementOf,
  driftReferenceOf,
  type FieldRecord,
} from '@fogline/toolchain';
import type { ScoredItem } from './scored-stream.ts';

/** The cloud score whose histogram on the audits the weak-reference check compares (models/controller.test.ts). */
const CLOUD_SCORE = 'margin';

export interface LoopCalibration {
  readonly baseline: ControllerBaseline;
  readonly driftReference: DriftReference;
}

export function calibrationOf(
  items: readonly ScoredItem[],
  policy: CascadePolicy,
  deviceModel: { name: string; version: number },
): LoopCalibration {
  const records: FieldRecord[] = items.map((x, i) => ({
    answers: { device: x.out.device.answer, edge: x.out.edge.answer, cloud: x.out.cloud.answer },
    reference: x.out.cloud.answer,
    scores: { device: x.out.device.scores, edge: x.out.edge.scores, cloud: x.out.cloud.scores },
    p: 1,
    atMs: i,
  }));
  const share = (ok: (x: ScoredItem) => boolean) => items.filter(ok).length / items.length;
  return {
    baseline: {
      disagreement: disagreementOf(records, policy).estimate,
      cloudAccuracy: share((x) => x.out.cloud.answer === x.label),
      edgeAgreement: share((x) => x.out.edge.answer === x.out.cloud.answer),
      cloudScores: driftReferenceOf(
        items.map((x) => x.out.cloud.scores[CLOUD_SCORE]),
        CLOUD_SCORE,
        { name: 'digits-large', version: 1 },
      ),
    },
    driftReference: driftReferenceOf(
      items.map((x) => x.out.device.scores[policy.device.score]),
      policy.device.score,
      deviceModel,
    ),
  };
}
