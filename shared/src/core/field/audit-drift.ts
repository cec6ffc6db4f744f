/**
 * Drift seen from the audit records (docs/field-accuracy.md "The cloud's drift checks"): per edge,
 * the PSI of the audits' device scores against the device model's calibration histogram (the same
 * input drift the edge watches, checked where the records are), and the PSI of the cloud's own
 * scores against the cloud model's (`drift.baseline.cloudScores`): past `REFERENCE_PSI` the large
 * model itself is on unfamiliar inputs — the reference is weak on this traffic. Each record counts
 * with weight 1/p; feedback records (a sample the application chose) never count; a PSI is given
 * only on at least `minRecords` records.
 */
import type { DriftReference } from './drift-reference.ts';
import { binOf, psi } from './histogram.ts';

/**
 * The cloud-score PSI past which the reference counts as weak: far above the input-drift alarm
 * (0.2), since a confident large model's scores move on any shift — 0.8 on digits turned 25–40°,
 * which it still reads at 92 %; 1.6–2.6 where it falls to 66–72 % (docs/field-accuracy.md).
 */
export const REFERENCE_PSI = 1;

/** Fewest records a PSI on the audits is computed from (its noise on 10 bins is ~χ²₉/n: 0.02 at 500). */
export const MIN_PSI_RECORDS = 500;

/** What a PSI on the audits needs of a record (the store's audit record has all of it). */
export interface ScoredAudit {
  /** 'feedback' records are skipped. */
  readonly source?: 'audit' | 'feedback';
  /** Probability with which it was audited: weight 1/p. */
  readonly p: number;
  /** `name:version` of the device model, and its routing score. */
  readonly deviceModel: string;
  readonly deviceScore: number;
  /** `name:version` of the cloud model, and its routing score (its config's score kind). */
  readonly cloudModel: string;
  readonly cloudScore: number;
}

export interface AuditPsi {
  /** PSI against the reference; undefined below `minRecords` (or without a reference). */
  readonly psi: number | undefined;
  /** Audit records of the reference's model that counted. */
  readonly records: number;
}

export interface AuditDrift {
  /** The audits' device scores against the device model's calibration histogram. */
  readonly device: AuditPsi;
  /** The audits' cloud scores against the cloud model's; `weak` once its PSI passes `REFERENCE_PSI`. */
  readonly cloud: AuditPsi & { readonly weak: boolean };
}

export interface AuditDriftReferences {
  /** The device model's drift block (`drift` of the edge model's config). */
  readonly device?: DriftReference;
  /** The cloud model's (`drift.baseline.cloudScores`). */
  readonly cloud?: DriftReference;
}

export interface AuditDriftOptions {
  readonly minRecords?: number;
  readonly referencePsi?: number;
}

/** Both PSIs of one edge's audit records. */
export function auditDriftOf(
  records: readonly ScoredAudit[],
  references: AuditDriftReferences,
  options: AuditDriftOptions = {},
): AuditDrift {
  const minRecords = options.minRecords ?? MIN_PSI_RECORDS;
  const audits = records.filter((r) => r.source !== 'feedback');
  const device = psiOn(audits, references.device, minRecords, (r) => [r.deviceModel, r.deviceScore]);
  const cloud = psiOn(audits, references.cloud, minRecords, (r) => [r.cloudModel, r.cloudScore]);
  const weak = cloud.psi !== undefined && cloud.psi > (options.referencePsi ?? REFERENCE_PSI);
  return { device, cloud: { ...cloud, weak } };
}

function psiOn(
  records: readonly ScoredAudit[],
  reference: DriftReference | undefined,
  minRecords: number,
  scoreOf: (r: ScoredAudit) => readonly [model: string, score: number],
): AuditPsi {
  if (!reference) return { psi: undefined, records: 0 };
  const model = `${reference.model}:${reference.version}`;
  const weights = new Array<number>(reference.reference.length).fill(0);
  let counted = 0;
  for (const r of records) {
    const [of, score] = scoreOf(r);
    if (of !== model || !Number.isFinite(score) || !(r.p > 0)) continue;
    weights[binOf(score, reference.bins)]! += 1 / r.p;
    counted++;
  }
  return { psi: counted >= minRecords ? psi(reference.reference, weights) : undefined, records: counted };
}
