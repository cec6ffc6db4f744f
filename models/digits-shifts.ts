/**
 * The digits cascade on a shifted stream (shared/src/digits/shift.ts), measured with onnxruntime
 * directly: each model's accuracy, and the cascade as the committed configs route it (device
 * digits-tiny, edge digits-mid-int8, cloud digits-large, each tier answering when its score reaches
 * its config's threshold). Used by bench/shifts.ts and models/shifts.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseModelConfig, type ResolvedPolicy, resolvePolicy, scoreLogitRows } from '@fogline/shared';
import type { DigitsData } from '@fogline/shared/digits';
import * as ort from 'onnxruntime-node';
import { runLogits } from './digits-zoo.ts';

/** The default cascade, device → edge → cloud (docs/design.md). */
export const CASCADE = ['digits-tiny', 'digits-mid-int8', 'digits-large'] as const;
export type CascadeModel = (typeof CASCADE)[number];

export interface CascadeTier {
  readonly model: CascadeModel;
  readonly session: ort.InferenceSession;
  readonly policy: ResolvedPolicy;
}

export interface ShiftMeasurement {
  readonly count: number;
  /** Top-1 accuracy of each model on its own, in CASCADE order. */
  readonly accuracy: readonly number[];
  /** Share of inputs each tier answers under the configs' routing (device, edge, cloud). */
  readonly share: readonly number[];
  /** Accuracy of the device on the inputs it answers itself. */
  readonly deviceAnsweredAccuracy: number;
  /** Accuracy of the cascade as routed. */
  readonly cascadeAccuracy: number;
}

export async function openCascade(threads = 1): Promise<CascadeTier[]> {
  return Promise.all(
    CASCADE.map(async (model) => {
      const file = fileURLToPath(new URL(`./${model}/config.json`, import.meta.url));
      const config = parseModelConfig(JSON.parse(readFileSync(file, 'utf8')), file, model);
      const session = await ort.InferenceSession.create(
        fileURLToPath(new URL(`./${model}/1/model.onnx`, import.meta.url)),
        { intraOpNumThreads: threads, interOpNumThreads: 1 },
      );
      return { model, session, policy: resolvePolicy(config.routing) };
    }),
  );
}

async function logitsOf(
  session: ort.InferenceSession,
  data: DigitsData,
  batch: number,
): Promise<Float32Array> {
  const out = new Float32Array(data.count * 10);
  for (let start = 0; start < data.count; start += batch) {
    out.set(await runLogits(session, data, start, Math.min(batch, data.count - start)), start * 10);
  }
  return out;
}

/** Runs every tier over the data (batches of `batch`) and routes each input as the configs say. */
export async function measureShift(
  tiers: readonly CascadeTier[],
  data: DigitsData,
  batch = 250,
): Promise<ShiftMeasurement> {
  const rows = [];
  for (const t of tiers)
    rows.push(scoreLogitRows(await logitsOf(t.session, data, batch), 10, t.policy.score));
  const correct = tiers.map(() => 0);
  const answered = tiers.map(() => 0);
  let cascadeCorrect = 0;
  let deviceCorrect = 0;
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i];
    rows.forEach((r, k) => {
      if (r.labels[i] === label) correct[k]!++;
    });
    // The first tier whose score reaches its threshold answers; the last tier always does.
    let k = 0;
    while (k < tiers.length - 1 && !(rows[k]!.scores[i]! >= tiers[k]!.policy.threshold)) k++;
    answered[k]!++;
    if (rows[k]!.labels[i] === label) {
      cascadeCorrect++;
      if (k === 0) deviceCorrect++;
    }
  }
  return {
    count: data.count,
    accuracy: correct.map((c) => c / data.count),
    share: answered.map((a) => a / data.count),
    deviceAnsweredAccuracy: answered[0] === 0 ? Number.NaN : deviceCorrect / answered[0]!,
    cascadeAccuracy: cascadeCorrect / data.count,
  };
}

export async function closeCascade(tiers: readonly CascadeTier[]): Promise<void> {
  for (const t of tiers) await t.session.release();
}
