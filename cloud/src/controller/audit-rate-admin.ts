/**
 * The operator's audit rate for an edge's devices (docs/field-accuracy.md "The audit rate"; admin API
 * PUT/DELETE /api/edges/{id}/policy/audit-rate, `fogline policy audit-rate`): validated like the edge
 * will (shared `readAuditRate`), kept on the edge's policy row (it outlives a cloud restart), logged in
 * the policy change log (action `audit-rate`, figures `{ from, to }`, null: the edge's own), and sent
 * on the desired state's `audit_rate`. The edge applies it as its calm rate; a drift alarm's rate
 * still rules while the alarm is on.
 */
import { FoglineError, MAX_ROUTING_REASON, readAuditRate } from '@fogline/shared';
import type { RoutingSummary } from '../fabric/telemetry-summary.ts';
import type { EdgePolicyRecord } from '../store/index.ts';
import type { PolicyAdminDeps } from './policy-admin.ts';
import type { AuditRateView } from './policy-view-types.ts';

/** What the edge says is in effect (its telemetry) and what the operator asked (the row). */
export function auditRateView(
  routing: RoutingSummary | undefined,
  row: EdgePolicyRecord | null,
): AuditRateView {
  return { in_effect: routing?.audit ?? null, operator: row?.auditRate ?? null };
}

/** A PUT body `{ rate, reason? }`, checked (INVALID_ARG says what is wrong). */
function readBody(body: Record<string, unknown>): { rate: number; why: string } {
  const rate = readAuditRate(body.rate, 'rate');
  if (typeof rate === 'string') throw new FoglineError('INVALID_ARG', rate);
  const { reason } = body;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_ROUTING_REASON)) {
    throw new FoglineError('INVALID_ARG', `reason must be a string of at most ${MAX_ROUTING_REASON} chars`);
  }
  return { rate, why: reason ?? 'set by an operator' };
}

/**
 * Sets (`body`) or clears (null) the operator's rate of `edgeId` (NOT_FOUND for an unknown edge),
 * then publishes the edge's desired state; a rate equal to the one held changes nothing.
 */
export async function setAuditRate(
  deps: PolicyAdminDeps,
  edgeId: string,
  body: Record<string, unknown> | null,
): Promise<void> {
  const { rate, why } =
    body === null ? { rate: null, why: "cleared by an operator: back to the edge's own" } : readBody(body);
  await deps.store.edges.get(edgeId);
  const from = (await deps.store.edgePolicies.get(edgeId))?.auditRate ?? null;
  if (from === rate) return;
  await deps.store.edgePolicies.change(
    edgeId,
    { source: 'operator', action: 'audit-rate', from: null, to: null, why, figures: { from, to: rate } },
    { auditRate: rate },
  );
  await deps.publish(edgeId);
}
