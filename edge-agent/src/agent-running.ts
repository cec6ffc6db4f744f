/**
 * A started edge agent's parts (edge-agent.ts `startAgent` builds them), and its graceful stop: stop
 * taking requests, finish those in flight (bounded), then close everything, the cloud told last.
 */
import type { ResolvedAgentOptions } from './agent-options.ts';
import type { startAuditRelay } from './audit-hook.ts';
import type { DeviceAuditRate } from './audit-rate.ts';
import type { CloudLink } from './cloud-link.ts';
import type { CloudRouting } from './cloud-routing.ts';
import { type CloudTier, closeCloudTier } from './cloud-tier.ts';
import type { Deployer } from './deployment/deployer.ts';
import type { ModelSlot } from './deployment/model-slot.ts';
import type { DesiredStatePoller } from './desired-state-poller.ts';
import type { EdgeDeviceModels } from './device-models/edge-device-models.ts';
import type { DriftMonitor } from './drift-monitor.ts';
import type { EdgeAgentInfo } from './edge-agent-api.ts';
import type { InferHandler } from './infer-handler.ts';
import type { LateCorrections } from './late-corrections.ts';
import type { LocalBus } from './local-bus.ts';
import type { MetricsEndpoint } from './metrics-endpoint.ts';
import type { RoutingControl } from './routing-control.ts';
import type { TelemetryCadence } from './telemetry-cadence.ts';

export interface Running {
  /** The serving model, swapped by deployments (deployment/model-slot.ts). */
  model: ModelSlot;
  deployer: Deployer;
  routing: RoutingControl;
  cloudRouting: CloudRouting;
  drift: DriftMonitor | undefined;
  /** The devices' audit rate: the edge's own, the operator's, the drift alarm's (audit-rate.ts). */
  audit: DeviceAuditRate;
  bus: LocalBus;
  handler: InferHandler;
  cloud: CloudTier | undefined;
  link: CloudLink | undefined;
  poller: DesiredStatePoller | undefined;
  audits: ReturnType<typeof startAuditRelay>;
  deviceModels: EdgeDeviceModels;
  late: LateCorrections | undefined;
  cadence: TelemetryCadence;
  metrics?: MetricsEndpoint;
  startedAt: number;
  info: EdgeAgentInfo;
}

export async function stopAgent(config: ResolvedAgentOptions, r: Running): Promise<void> {
  // 1. Stop taking requests: anything arriving from now on gets UNAVAILABLE at once.
  r.handler.stopAccepting();
  await r.metrics?.close();
  r.cadence.stop();
  await r.poller?.stop();
  // 2. Finish in-flight requests (bounded), and the batches behind them.
  const idle = await r.handler.waitIdle(config.shutdownTimeoutMs);
  if (!idle)
    config.logger.warn(`${r.handler.inFlight} request(s) unfinished after ${config.shutdownTimeoutMs} ms`);
  // 3. Tell the cloud we are going (retained offline), then close everything.
  r.audits?.close();
  await r.deployer.close();
  await r.late?.close();
  await r.link?.close();
  await r.deviceModels.close();
  await r.bus.close();
  if (r.cloud) closeCloudTier(r.cloud);
  await r.model.current.close();
}
