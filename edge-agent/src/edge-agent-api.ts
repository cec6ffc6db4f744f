/**
 * What an edge agent offers once created (docs/edge-agent.md): its ready info and its methods. The
 * implementation is `createEdgeAgent` (edge-agent.ts).
 */
import type {
  AuditRateInEffect,
  BatchingSnapshot,
  DeploymentReport,
  ModelFile,
  PolicyMessage,
  ResolvedPolicy,
  RoutingPolicy,
} from '@fogline/shared';
import type { AuditRelayCounts } from './audit-hook.ts';
import type { BreakerState } from './cloud-breaker.ts';
import type { DeviceModelStatus } from './device-models/device-model-service.ts';
import type { DriftStatus } from './drift-monitor.ts';
import type { DriftAlarmListener } from './edge-drift.ts';
import type { TelemetryMessage } from './edge-telemetry.ts';
import type { LateCorrectionsCounts } from './late-corrections.ts';
import type { LocalBusEndpoints } from './local-bus.ts';
import type { ReportCounts, ReportListener } from './report-inbox.ts';
import type { DevicePolicyOptions, RoutingChange } from './routing-control.ts';

/** What a started agent reports (the CLI prints it as its ready line). */
export interface EdgeAgentInfo {
  readonly edgeId: string;
  /** `name:version` of the edge model. */
  readonly model: string;
  readonly routing: ResolvedPolicy;
  /** The preferred (first) cloud URL; `cloudUrls` lists them all. */
  readonly cloudUrl: string | undefined;
  readonly cloudUrls: readonly string[];
  readonly cloudModel: string | undefined;
  /** The preferred (first) cloud broker URL; `cloudBrokerUrls` lists them all. */
  readonly cloudBrokerUrl: string | undefined;
  readonly cloudBrokerUrls: readonly string[];
  readonly localBroker: { readonly kind: 'embedded' | 'external' } & LocalBusEndpoints;
  /** Version of the device list in use (from the cache at start), if any. */
  readonly deviceListVersion: number | undefined;
  /** Where `/metrics` is served, when the `metrics` option asked for it. */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** Where the devices' model is served, when the `deviceFiles` option asked for it. */
  readonly deviceFiles?: { readonly host: string; readonly port: number };
}

export interface EdgeAgent {
  start(): Promise<EdgeAgentInfo>;
  /** Stops taking requests, finishes in-flight ones (bounded), publishes `offline`, closes everything. */
  stop(): Promise<void>;
  /** The telemetry message as it would be published now. */
  telemetry(): TelemetryMessage;
  readonly breakerState: BreakerState;
  readonly deviceListVersion: number | undefined;
  /** True while the MQTT session with the cloud broker is up. */
  readonly cloudLinkConnected: boolean;
  /** The cloud broker URL the link is connected to (of several, docs/edge-agent.md); undefined when down. */
  readonly cloudLinkUrl: string | undefined;
  /** The cloud URL escalations go to now: the first whose breaker is not open; undefined without one. */
  readonly cloudActiveUrl: string | undefined;
  /** The policy the edge routes its next request by (undefined before start). */
  readonly routing: ResolvedPolicy | undefined;
  /**
   * Changes the edge's own routing from the next request on; validated like every policy (INVALID_ARG:
   * nothing changes). Recorded in `routingHistory()` and logged.
   */
  setRouting(policy: RoutingPolicy): ResolvedPolicy;
  /** Pins the routing on the edge (true): policy directives from the cloud are refused until unpinned. */
  pinRouting(pinned: boolean): void;
  /**
   * Publishes, retained on the local broker, the routing policy of this edge's devices (they apply it
   * to their next inference). `model` (default: the `deviceModel` option) is the device model's
   * `name:version`. Resolves once the broker has it; recorded and logged.
   */
  publishDevicePolicy(policy: RoutingPolicy, options?: Partial<DevicePolicyOptions>): Promise<PolicyMessage>;
  /** Routing changes of the edge and of its devices' policy, oldest first (bounded, in memory). */
  routingHistory(): readonly RoutingChange[];
  /** Reports from devices: read by kind, malformed, unknown kind, dropped over their bucket. */
  reportCounts(): ReportCounts;
  /** Calls `listener` with every report read from the devices; returns its removal. */
  onReport(listener: ReportListener): () => void;
  /**
   * The drift monitor (docs/edge-agent.md "Drift"): PSI of each window of the devices' score
   * histograms, alarm on/off and since when; undefined when the edge config has no drift block.
   */
  driftStatus(): DriftStatus | undefined;
  /** Calls `listener` whenever the drift alarm goes on (true) or off (false); returns its removal. */
  onDriftAlarm(listener: DriftAlarmListener): () => void;
  /** Audits relayed to the cloud: received, uploaded, dropped by why (docs/edge-agent.md "Audits"). */
  auditCounts(): AuditRelayCounts | undefined;
  /** The devices' audit rate in effect and where it comes from (docs/field-accuracy.md "The audit rate"). */
  auditRate(): AuditRateInEffect | undefined;
  /** The serving model's batcher counters since it was loaded; undefined when not running. */
  batching(): BatchingSnapshot | undefined;
  /** `name:version` of the model serving now (a deployment swaps it; docs/edge-agent.md "Deployments"). */
  readonly servingModel: string | undefined;
  /** The last deployment's report, as in the reported state; undefined when none came. */
  deployment(): DeploymentReport | undefined;
  /**
   * Late corrections (docs/edge-agent.md "Late corrections"): answers waiting for the cloud,
   * corrections kept, bytes on disk, what the drain settled; undefined when off or not running.
   */
  lateCorrectionCounts(): LateCorrectionsCounts | undefined;
  /**
   * Re-reads the local broker's certificate and key (SIGHUP): new MQTTS/WSS handshakes get them, open
   * connections go on. INVALID_ARG without TLS, or for a pair that cannot be used (the old one stays).
   */
  reloadTls(): Promise<void>;
  /** The device model this edge announces to its devices, and the last one it could not serve. */
  deviceModel(): DeviceModelStatus | undefined;
  /**
   * Fetches `file` from the cloud's model store, checks its size and sha256, serves it to the devices
   * and announces it (what a deployment's `device` block does); rejects with the reason, and the
   * previous device model stays announced.
   */
  serveDeviceModel(file: ModelFile): Promise<DeviceModelStatus>;
}
