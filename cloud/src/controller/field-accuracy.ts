/**
 * Field accuracy, live (issue 12 item 4; docs/field-accuracy.md): over an edge's window, per tier,
 * the agreement with the truth (ground truth where the application gave it, else the cloud's
 * reference) with its Wilson interval and record count, the share of the traffic each tier answered,
 * and the audit count and rate. Every record weighs 1/p, so a rate that changed within the window
 * (a drift alarm raises it) does not skew the figures.
 */
import { type ProportionInterval, TIERS, type Tier, tierAgreement } from '@fogline/shared';
import type { WindowRecord } from './field-window.ts';

export interface TierField {
  /** Agreement with the truth: estimate (NaN with no records) and 95 % Wilson bounds. */
  readonly agreement: Pick<ProportionInterval, 'estimate' | 'low' | 'high' | 'n' | 'nEff'>;
  /** Share of the traffic this tier answered (weighted 1/p); NaN with no records. */
  readonly share: number;
}

export interface FieldAccuracy {
  /** Audit records in the window. */
  readonly records: number;
  /** Audits per request over the window: records / Σ 1/p (NaN with no records). */
  readonly auditRate: number;
  readonly tiers: Readonly<Record<Tier, TierField>>;
}

export function fieldAccuracyOf(records: readonly WindowRecord[]): FieldAccuracy {
  let total = 0;
  const answered: Record<Tier, number> = { device: 0, edge: 0, cloud: 0 };
  for (const r of records) {
    total += 1 / r.p;
    answered[r.answerTier] += 1 / r.p;
  }
  const tier = (t: Tier): TierField => {
    const { estimate, low, high, n, nEff } = tierAgreement(records, t);
    return {
      agreement: { estimate, low, high, n, nEff },
      share: total > 0 ? answered[t] / total : Number.NaN,
    };
  };
  const [device, edge, cloud] = TIERS.map(tier) as [TierField, TierField, TierField];
  return {
    records: records.length,
    auditRate: total > 0 ? records.length / total : Number.NaN,
    tiers: { device, edge, cloud },
  };
}
