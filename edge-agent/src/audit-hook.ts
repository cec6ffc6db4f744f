/**
 * Wires the audit relay into a running edge agent: it listens to the report inbox and uploads
 * through the cloud tier's client; an edge with no cloud has nowhere to send audits and runs none.
 */
import type { ResolvedAgentOptions } from './agent-options.ts';
import { AuditRelay } from './audit-relay.ts';
import type { CloudTier } from './cloud-tier.ts';
import type { ModelSlot } from './deployment/model-slot.ts';
import type { DriftMonitor } from './drift-monitor.ts';
import type { ReportInbox } from './report-inbox.ts';
import type { RoutingControl } from './routing-control.ts';

export type { AuditRelayCounts } from './audit-relay.ts';

/** Longest an audit upload may take, ms. */
const UPLOAD_TIMEOUT_MS = 10_000;

export function startAuditRelay(
  config: ResolvedAgentOptions,
  model: ModelSlot,
  routing: RoutingControl,
  cloud: CloudTier | undefined,
  reports: ReportInbox,
  drift: DriftMonitor | undefined,
): { relay: AuditRelay; close(): void } | undefined {
  if (!cloud) return undefined;
  const relay = new AuditRelay({
    model,
    // The previous version while a deployment's gate runs (docs/edge-agent.md "Deployments").
    shadow: () => model.shadow,
    routing: () => routing.edge,
    cloudModel: cloud.replicas.model,
    keepInputs: config.auditInputs === 'keep',
    cloudDown: () => cloud.replicas.state === 'open',
    upload: (body) => cloud.replicas.call((c) => c.uploadAudits(body, UPLOAD_TIMEOUT_MS)),
    maxQueued: config.auditQueueSize,
    // The floor during a drift alarm (docs/edge-agent.md "Audits").
    floorPerSec: () => (drift?.alarm ? config.auditFloorPerSec : 0),
    // During the alarm audits leave at once (one upload in flight), not after 1 s: the fallback waits for them.
    urgent: () => drift?.alarm ?? false,
    warn: (message) => config.logger.warn(message),
  });
  const unlisten = reports.listen((deviceId, report) => relay.receive(deviceId, report));
  return {
    relay,
    close() {
      unlisten();
      relay.close();
    },
  };
}
