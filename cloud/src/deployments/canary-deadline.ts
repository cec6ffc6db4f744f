/**
 * The canary's deadline (docs/operations.md "Rollout"): every canary edge has `canaryTimeoutMs` from
 * the deployment's start to report `active`, whether it is offline (gone before it reported) or
 * online and slow (a download that crawls, a warm-up that hangs). A canary that did report `active`
 * and then went offline holds the rest until it is back, but no longer than the healthy time after
 * that deadline. Past either, deployment-service.ts fails the deployment with these reasons.
 */
import type { DeploymentEdgeRecord, DeploymentRecord } from '../store/index.ts';

/** A canary edge past its deadline, and why, for the edge's row and the deployment's reason. */
export interface OverdueCanary {
  readonly edgeId: string;
  readonly why: string;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The canary edges of `d` past their deadline at `now` (none before it). */
export function overdueCanaries(
  d: DeploymentRecord,
  canaries: readonly DeploymentEdgeRecord[],
  now: number,
  offline: (edgeId: string) => boolean = () => false,
): OverdueCanary[] {
  const since = now - d.createdAt.getTime();
  if (since < d.canaryTimeoutMs) return [];
  const overdue: OverdueCanary[] = [];
  for (const e of canaries) {
    const off = offline(e.edgeId);
    if (e.state !== 'active') {
      const last = e.state === 'pending' ? 'no report' : `last reported ${e.state}`;
      overdue.push({
        edgeId: e.edgeId,
        why: `no active report within ${seconds(d.canaryTimeoutMs)} (${last}${off ? ', offline' : ''})`,
      });
    } else if (off && since >= d.canaryTimeoutMs + d.canaryHealthyMs) {
      overdue.push({
        edgeId: e.edgeId,
        why: `offline after its active report, not back within ${seconds(d.canaryTimeoutMs + d.canaryHealthyMs)}`,
      });
    }
  }
  return overdue;
}

/** The deployment's reason when `overdue` (not empty) failed it. */
export function timeoutReason(overdue: readonly OverdueCanary[]): string {
  const [first] = overdue;
  const more = overdue.length > 1 ? ` (and ${overdue.length - 1} more)` : '';
  return `canary timeout: edge '${first!.edgeId}' ${first!.why}${more}`;
}
