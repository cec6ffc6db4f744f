/** A deployment as the admin API and `fogline deploy status` show it (docs/cloud.md "Deployments"). */
import type { DeploymentDirective, DeploymentGate, ModelFile, ModelRef } from '@fogline/shared';
import type {
  DeploymentEdgeRecord,
  DeploymentEdgeState,
  DeploymentRecord,
  DeploymentStatus,
  GateCounts,
} from '../store/index.ts';
import { judgeGate, type PairedGateJudge } from './deployment-gate.ts';

export interface DeploymentEdgeView {
  edge: string;
  stage: 'canary' | 'rest';
  /** Whether the edge has been sent the deployment (canary edges at once, the rest once rolling). */
  sent: boolean;
  state: DeploymentEdgeState;
  receivedBytes: number | null;
  totalBytes: number | null;
  failure: string | null;
  previous: ModelRef | null;
  gate: (GateCounts & { verdict: string; reason: string }) | null;
  activeSince: string | null;
  updatedAt: string;
}

export interface DeploymentView {
  id: string;
  model: string;
  version: number;
  sha256: string;
  bytes: number;
  edgesSelector: readonly string[] | 'all';
  canary: number;
  canaryHealthyMs: number;
  canaryTimeoutMs: number;
  gate: DeploymentGate | null;
  device: ModelFile | null;
  state: DeploymentStatus;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  /** Present in single-deployment answers. */
  edges?: DeploymentEdgeView[];
}

export function deploymentView(
  d: DeploymentRecord,
  edges?: readonly DeploymentEdgeRecord[],
  judge?: PairedGateJudge,
): DeploymentView {
  return {
    id: d.id,
    model: d.model,
    version: d.version,
    sha256: d.sha256,
    bytes: d.bytes,
    edgesSelector: d.edgesSelector,
    canary: d.canaryShare,
    canaryHealthyMs: d.canaryHealthyMs,
    canaryTimeoutMs: d.canaryTimeoutMs,
    gate: d.gate,
    device: d.device,
    state: d.state,
    reason: d.reason,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    ...(edges && { edges: edges.map((e) => edgeView(d, e, judge)) }),
  };
}

function edgeView(d: DeploymentRecord, e: DeploymentEdgeRecord, judge?: PairedGateJudge): DeploymentEdgeView {
  const verdict = d.gate && e.gate ? judgeGate(e.gate, d.gate, judge) : undefined;
  return {
    edge: e.edgeId,
    stage: e.stage,
    sent: isSent(d, e),
    state: e.state,
    receivedBytes: e.receivedBytes,
    totalBytes: e.totalBytes,
    failure: e.failure,
    previous: e.previous,
    gate: e.gate && verdict ? { ...e.gate, verdict: verdict.verdict, reason: verdict.reason } : null,
    activeSince: e.activeSince?.toISOString() ?? null,
    updatedAt: e.updatedAt.toISOString(),
  };
}

/**
 * The edge has been sent this deployment: a canary edge, or any once it rolls out to the rest; none
 * once rolled back, and once it failed none that has not swapped it in (the block is withdrawn: an
 * edge still downloading it stops, and a canary offline through the timeout gets nothing when it
 * comes back).
 */
export function isSent(d: DeploymentRecord, e: DeploymentEdgeRecord): boolean {
  if (d.state === 'rolled_back') return false;
  if (d.state === 'failed' && !isSwapped(e)) return false;
  return e.stage === 'canary' || d.state === 'rolling' || d.state === 'done' || e.state !== 'pending';
}

/** The edge has swapped the deployment in (it served it, if only until a gate rolled it back). */
export function isSwapped(e: DeploymentEdgeRecord): boolean {
  return e.state === 'active' || e.state === 'rolled_back';
}

/** The `deployment` block of an edge's desired state that names `d` (model-deployment.ts). */
export function directiveOf(d: DeploymentRecord): DeploymentDirective {
  return {
    id: d.id,
    model: d.model,
    version: d.version,
    sha256: d.sha256,
    bytes: d.bytes,
    ...(d.gate && { gate: d.gate }),
    ...(d.device && { device: d.device }),
  };
}
