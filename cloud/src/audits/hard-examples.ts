/**
 * Hard examples (docs/field-accuracy.md "Hard examples"): the stored field records — uniform audits
 * and feedback records — whose input the cascade found hard: the tiers disagreed, the answer was not
 * the application's label, or the answering tier scored low. Each comes with its label (the
 * feedback label, which outranks the cloud's reference answer) and its source. They are what the
 * records are: bounded and aged out with them, never kept for an edge that opted out (a record with
 * no input is skipped and counted). A biased sample, for training only: never for the controller or
 * a rollout gate.
 */
import { FoglineError, type TensorDatatype, type TensorQuantization, toRealValues } from '@fogline/shared';
import type { AuditRecord, AuditRecordRepository } from '../store/index.ts';

export type HardReason = 'tiers-disagree' | 'wrong-answer' | 'low-score';

/** Default bound below which the answering tier's routing score (0..1, higher = surer) is "low". */
export const DEFAULT_LOW_SCORE = 0.5;
/** Most records one page scans. */
export const MAX_EXAMPLE_SCAN = 10_000;

export interface HardExample {
  readonly record: AuditRecord;
  /** The class to train on: the feedback label, else the cloud's reference answer. */
  readonly label: number;
  readonly labelFrom: 'feedback' | 'reference';
  readonly reasons: readonly HardReason[];
}

export interface HardExampleQuery {
  readonly edgeId?: string;
  readonly since?: Date;
  /** Page after this record id (the previous page's `next`). */
  readonly afterId?: number;
  /** Records to scan in this page, at most MAX_EXAMPLE_SCAN. */
  readonly scan: number;
  readonly lowScore: number;
}

export interface HardExamplePage {
  readonly examples: readonly HardExample[];
  readonly scanned: number;
  /** Hard records that carry no input (opted out, or expired): skipped. */
  readonly skippedNoInput: number;
  /** The id to pass as `afterId` for the next page; null when this page reached the end. */
  readonly next: number | null;
}

/** Why a record's input is hard; empty when it is not. */
export function hardReasons(r: AuditRecord, lowScore: number): HardReason[] {
  const reasons: HardReason[] = [];
  const labels = [r.device.label, r.edge?.label, r.cloud.label].filter((l) => l !== undefined);
  if (labels.some((l) => l !== labels[0])) reasons.push('tiers-disagree');
  const answer = answerOf(r);
  if (r.feedbackLabel !== null && answer.label !== r.feedbackLabel) reasons.push('wrong-answer');
  if (answer.score < lowScore) reasons.push('low-score');
  return reasons;
}

/** The answer the device's caller got (the edge's, when the edge had none, the cloud's). */
export function answerOf(r: AuditRecord): { label: number; score: number } {
  const tier = r.answerTier === 'edge' ? (r.edge ?? r.cloud) : r[r.answerTier];
  return { label: tier.label, score: tier.score };
}

export async function hardExamplePage(
  records: AuditRecordRepository,
  q: HardExampleQuery,
): Promise<HardExamplePage> {
  if (!Number.isInteger(q.scan) || q.scan < 1 || q.scan > MAX_EXAMPLE_SCAN) {
    throw new FoglineError('INVALID_ARG', `scan must be an integer in [1, ${MAX_EXAMPLE_SCAN}]`);
  }
  if (!(q.lowScore >= 0 && q.lowScore <= 1)) {
    throw new FoglineError('INVALID_ARG', `low_score must be within [0, 1], got ${q.lowScore}`);
  }
  const page = await records.list({
    ...(q.edgeId !== undefined && { edgeId: q.edgeId }),
    ...(q.since !== undefined && { since: q.since }),
    ...(q.afterId !== undefined && { afterId: q.afterId }),
    limit: q.scan,
  });
  const examples: HardExample[] = [];
  let skippedNoInput = 0;
  for (const record of page) {
    const reasons = hardReasons(record, q.lowScore);
    if (reasons.length === 0) continue;
    if (record.input === null) {
      skippedNoInput++;
      continue;
    }
    const feedback = record.feedbackLabel;
    examples.push({
      record,
      label: feedback ?? record.cloud.label,
      labelFrom: feedback === null ? 'reference' : 'feedback',
      reasons,
    });
  }
  return {
    examples,
    scanned: page.length,
    skippedNoInput,
    next: page.length === q.scan ? page.at(-1)!.id : null,
  };
}

/** A stored input (the audit's wire tensor: base64 little-endian data) as its sample shape and real values. */
export function realInput(input: Readonly<Record<string, unknown>>): {
  shape: number[];
  values: Float32Array;
} {
  const { datatype, shape, data, scale, zero_point: zeroPoint } = input;
  if (!Array.isArray(shape) || typeof data !== 'string' || typeof datatype !== 'string') {
    throw new FoglineError('INVALID_ARG', 'stored input is not a tensor (datatype, shape, data)');
  }
  const bytes = Buffer.from(data, 'base64');
  const buffer = new Uint8Array(bytes).buffer;
  const typed = {
    FP32: () => new Float32Array(buffer),
    FP16: () => new Uint16Array(buffer),
    UINT8: () => new Uint8Array(buffer),
    INT8: () => new Int8Array(buffer),
  }[datatype as 'FP32'];
  if (!typed)
    throw new FoglineError('INVALID_ARG', `stored input has datatype ${datatype}, not FP32|FP16|UINT8|INT8`);
  const quantization =
    typeof scale === 'number' && typeof zeroPoint === 'number'
      ? ({ scale, zero_point: zeroPoint } satisfies TensorQuantization)
      : undefined;
  const values = toRealValues(typed(), {
    datatype: datatype as TensorDatatype,
    ...(quantization && { quantization }),
  });
  return { shape: (shape as number[]).slice(1), values };
}
