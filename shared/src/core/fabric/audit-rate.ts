/**
 * The share of requests a device audits (issue 12 item 2: "per edge, changeable at run time"), and
 * where the rate in effect on an edge comes from (docs/field-accuracy.md "The audit rate"):
 *
 * - `edge`: the edge's own calm rate (`fogline edge --audit-rate`, default `DEFAULT_AUDIT_RATE`);
 * - `operator`: set through the cloud (`fogline policy audit-rate`), carried on the desired state's
 *   optional `audit_rate` (a number in [0, 1]; absent: back to the edge's own);
 * - `drift-alarm`: the edge's alarm rate, while its drift alarm is on (the calm rate returns after).
 *
 * One reader for every boundary that takes a rate: the admin API's body, the desired state on the
 * edge, the edge's telemetry on the cloud.
 */

/** Audit rate of a device whose edge has not sent one (F7: 2 % of traffic, issue 12 item 2). */
export const DEFAULT_AUDIT_RATE = 0.02;

export const AUDIT_RATE_SOURCES = ['edge', 'operator', 'drift-alarm'] as const;
export type AuditRateSource = (typeof AUDIT_RATE_SOURCES)[number];

/** The rate an edge's devices audit at, and why (the edge's telemetry, the admin API). */
export interface AuditRateInEffect {
  readonly rate: number;
  readonly source: AuditRateSource;
}

export function isAuditRate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

/** `raw` as a rate, or the sentence saying why it is not one (`field` names it). */
export function readAuditRate(raw: unknown, field = 'audit_rate'): number | string {
  return isAuditRate(raw)
    ? raw
    : `${field} must be a number in [0, 1], got ${JSON.stringify(raw)?.slice(0, 40) ?? String(raw)}`;
}

/** An untrusted `{ rate, source }`; undefined when it is not one. */
export function readAuditRateInEffect(raw: unknown): AuditRateInEffect | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { rate, source } = raw as Record<string, unknown>;
  if (!isAuditRate(rate) || !AUDIT_RATE_SOURCES.includes(source as AuditRateSource)) return undefined;
  return { rate, source: source as AuditRateSource };
}
