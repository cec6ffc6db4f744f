/**
 * Field accuracy without labels (docs/field-accuracy.md): how often a tier's answer agrees with the
 * reference answer (the cloud's large model) on audited records, each weighted by 1/p, the
 * probability it was audited with. Ground truth, where the application gave it, outranks the reference.
 */
import { FoglineError } from '../errors.ts';
import type { Tier } from '../routing/index.ts';
import { type ProportionInterval, weightedWilsonInterval, Z_95 } from './wilson.ts';

/** One audited request as the agreement needs it. Answers are class indices of `outputs[0]`. */
export interface AgreementRecord {
  /** Each tier's answer on this input; a tier that did not run on it is absent. */
  readonly answers: Readonly<Partial<Record<Tier, number>>>;
  /** The reference answer (the large model's). */
  readonly reference: number;
  /** The probability this request was audited with, in (0, 1]; its weight is 1/p. */
  readonly p: number;
  /** The true class, when the application reported it (`device.feedback`). */
  readonly groundTruth?: number;
}

/**
 * What an answer is judged against: `best` = the ground truth where there is one, else the
 * reference; `ground-truth` = only records with ground truth (the one check on the reference itself).
 */
export type AgreementBasis = 'best' | 'ground-truth';

export interface AgreementOptions {
  readonly basis?: AgreementBasis;
  readonly z?: number;
}

/** The answer a record is judged against, or undefined when `basis` leaves the record out. */
export function truthOf(record: AgreementRecord, basis: AgreementBasis = 'best'): number | undefined {
  if (record.groundTruth !== undefined) return record.groundTruth;
  return basis === 'best' ? record.reference : undefined;
}

/**
 * Weighted agreement of any answer (a tier's, or what a candidate policy would have answered) with
 * the truth of each record; records where `answerOf` gives undefined are left out.
 */
export function agreementOf<R extends AgreementRecord>(
  records: Iterable<R>,
  answerOf: (record: R) => number | undefined,
  options: AgreementOptions = {},
): ProportionInterval {
  const basis = options.basis ?? 'best';
  function* outcomes() {
    for (const r of records) {
      if (!(r.p > 0 && r.p <= 1)) {
        throw new FoglineError('INVALID_ARG', `agreement: audit probability p must be in (0, 1], got ${r.p}`);
      }
      const answer = answerOf(r);
      const truth = truthOf(r, basis);
      if (answer === undefined || truth === undefined) continue;
      yield { success: answer === truth, weight: 1 / r.p };
    }
  }
  return weightedWilsonInterval(outcomes(), options.z ?? Z_95);
}

/** Agreement of one tier's own answers with the truth, over the records where that tier ran. */
export function tierAgreement(
  records: Iterable<AgreementRecord>,
  tier: Tier,
  options: AgreementOptions = {},
): ProportionInterval {
  return agreementOf(records, (r) => r.answers[tier], options);
}
