/**
 * What an operator does to an edge's routing (docs/cloud.md "Policies"), and the views the admin API
 * and `fogline status` show: set a policy and pin it (the controller is off for that edge until
 * unpinned), unpin, and read the current policy (with the devices' audit rate, audit-rate-admin.ts), the last decision and the change log. A set is
 * validated like the edge will (shared `readRoutingDirective`, score kinds as the edge reports them)
 * and reaches the edge on the desired state's `routing` block.
 */
import { FoglineError, readRoutingDirective } from '@fogline/shared';
import type { EdgePresenceView } from '../fabric/edge-presence.ts';
import type { EdgePolicyRecord, PolicyChange, StagePolicies, Store } from '../store/index.ts';
import { auditRateView } from './audit-rate-admin.ts';
import type { ControllerService } from './controller-service.ts';
import type { FieldAccuracy } from './field-accuracy.ts';

export interface PolicyAdminDeps {
  readonly store: Pick<Store, 'edgePolicies' | 'edges'>;
  readonly controller: Pick<ControllerService, 'field' | 'control' | 'leader'>;
  readonly publish: (edgeId: string) => Promise<unknown>;
  readonly presence: (edgeId: string) => EdgePresenceView;
  readonly now?: () => number;
}

/** NaN (nothing known) as null, for JSON. */
const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * An edge's field accuracy as `GET /api/field` and the live feed show it: per tier the
 * agreement with the truth over the audit window, its 95 % Wilson bounds (0 and 1 with no records),
 * the records n and the share of the traffic the tier answered; null where nothing is known.
 */
export interface FieldView {
  records: number;
  audit_rate: number | null;
  tiers: Record<
    string,
    { agreement: number | null; low: number | null; high: number | null; n: number; share: number | null }
  >;
}

export function fieldView(f: FieldAccuracy): FieldView {
  const tiers = Object.fromEntries(
    Object.entries(f.tiers).map(([tier, t]) => [
      tier,
      {
        agreement: num(t.agreement.estimate),
        low: num(t.agreement.low),
        high: num(t.agreement.high),
        n: t.agreement.n,
        share: num(t.share),
      },
    ]),
  );
  return { records: f.records, audit_rate: num(f.auditRate), tiers };
}

/** One edge at a glance: online, drift, field accuracy, policy (GET /api/field, `fogline status`). */
export async function edgeFieldView(deps: PolicyAdminDeps, edgeId: string): Promise<Record<string, unknown>> {
  const view = deps.presence(edgeId);
  const row = await deps.store.edgePolicies.get(edgeId);
  const routing = view.telemetry?.routing;
  return {
    edge: edgeId,
    online: view.online,
    drift_alarm: view.telemetry?.drift?.alarm ?? null,
    field: fieldView(deps.controller.field(edgeId)),
    policy: routing ? { device: routing.device ?? null, edge: routing.edge } : null,
    audit_rate: auditRateView(routing, row),
    pinned: (row?.pinned ?? false) || (routing?.pinned ?? false),
    conservative: row?.conservative ?? false,
    reference_weak: deps.controller.control(edgeId).weakReference ?? null,
  };
}

export async function fleetFieldView(deps: PolicyAdminDeps): Promise<Record<string, unknown>> {
  const edges = (await deps.store.edges.list()).filter((e) => e.revokedAt === null);
  return {
    controller_leader: deps.controller.leader,
    edges: await Promise.all(edges.map((e) => edgeFieldView(deps, e.id))),
  };
}

function decisionView(row: EdgePolicyRecord | null) {
  const d = row?.lastDecision;
  return d ? { action: d.action, why: d.why, figures: d.figures, at: d.at.toISOString() } : null;
}

export async function policyView(deps: PolicyAdminDeps, edgeId: string): Promise<Record<string, unknown>> {
  await deps.store.edges.get(edgeId);
  const row = await deps.store.edgePolicies.get(edgeId);
  const routing = deps.presence(edgeId).telemetry?.routing;
  return {
    edge: edgeId,
    current: routing
      ? {
          device: routing.device ?? null,
          edge: routing.edge,
          applied: routing.directive ?? null,
          pinned_on_edge: routing.pinned,
        }
      : null,
    desired: row?.directive ?? null,
    audit_rate: auditRateView(routing, row),
    pinned: row?.pinned ?? false,
    conservative: row?.conservative ?? false,
    reference_weak: deps.controller.control(edgeId).weakReference ?? null,
    last_change_at: row?.lastChangeAt?.toISOString() ?? null,
    last_decision: decisionView(row),
  };
}

export function changeView(c: PolicyChange): Record<string, unknown> {
  return {
    id: c.id,
    at: c.at.toISOString(),
    source: c.source,
    action: c.action,
    from: c.from,
    to: c.to,
    why: c.why,
    figures: c.figures,
  };
}

/** PUT: validates `body` ({ device, edge, reason? }), makes it the edge's directive and pins it. */
export async function pinPolicy(deps: PolicyAdminDeps, edgeId: string, body: Record<string, unknown>) {
  await deps.store.edges.get(edgeId);
  const routing = deps.presence(edgeId).telemetry?.routing;
  const reason = body.reason === undefined ? 'set by an operator' : body.reason;
  const id = `op-${Math.floor((deps.now ?? Date.now)())}`;
  const reading = readRoutingDirective(
    { id, reason, device: body.device, edge: body.edge },
    {
      ...(routing?.device && { device: routing.device.score }),
      ...(routing && { edge: routing.edge.score }),
    },
  );
  if (!reading.ok) throw new FoglineError('INVALID_ARG', reading.reason);
  const { directive } = reading;
  const row = await deps.store.edgePolicies.get(edgeId);
  const from: StagePolicies | null = routing?.device
    ? { device: routing.device, edge: routing.edge }
    : (row?.directive ?? null);
  await deps.store.edgePolicies.change(
    edgeId,
    {
      source: 'operator',
      action: 'pin',
      from: from && { device: from.device, edge: from.edge },
      to: { device: directive.device, edge: directive.edge },
      why: directive.reason,
      figures: null,
    },
    { directive, pinned: true, conservative: false },
  );
  await deps.publish(edgeId);
  return policyView(deps, edgeId);
}

/** DELETE .../pin: the controller takes the edge back from its current policy. */
export async function unpinPolicy(deps: PolicyAdminDeps, edgeId: string) {
  await deps.store.edges.get(edgeId);
  const row = await deps.store.edgePolicies.get(edgeId);
  if (row?.pinned) {
    await deps.store.edgePolicies.change(
      edgeId,
      {
        source: 'operator',
        action: 'unpin',
        from: null,
        to: null,
        why: 'unpinned by an operator',
        figures: null,
      },
      { pinned: false },
    );
  }
  return policyView(deps, edgeId);
}
