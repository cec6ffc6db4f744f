/** @fogline/edge-agent: the edge tier (local broker, mid model, escalation to the cloud). */
export {
  AGENT_DEFAULTS,
  AGENT_RULES,
  type AgentLogger,
  BREAKER_RULES,
  DEVICE_FILES_RULES,
  type EdgeAgentOptions,
  LOCAL_BROKER_RULES,
  type LocalBrokerOptions,
  resolveAgentOptions,
} from './agent-options.ts';
export {
  BREAKER_DEFAULTS,
  type BreakerState,
  CloudBreaker,
  type CloudBreakerOptions,
} from './cloud-breaker.ts';
export { type CloudAnswer, CloudClient, type CloudClientOptions } from './cloud-client.ts';
export { STATUS_OFFLINE, STATUS_ONLINE } from './cloud-link.ts';
export {
  type DesiredState,
  type DeviceCredential,
  decodeDesiredState,
  parseDesiredState,
} from './desired-state.ts';
export { DESIRED_STATE_FILE, DeviceListCache } from './device-list-cache.ts';
export type { ReportedState } from './device-sync.ts';
export {
  DRIFT_DEFAULTS,
  DRIFT_RULES,
  type DriftEvent,
  DriftMonitor,
  type DriftOptions,
  type DriftStatus,
  type DriftWindow,
  resolveDriftSettings,
} from './drift-monitor.ts';
export { createEdgeAgent, type EdgeAgent, type EdgeAgentInfo } from './edge-agent.ts';
export type { DriftAlarmListener } from './edge-drift.ts';
export type { DriftTelemetry, TelemetryCounts, TelemetryMessage } from './edge-telemetry.ts';
export { DEFAULT_EDGE_MQTT_PORT } from './embedded-bus.ts';
export type { HistogramSnapshot } from './latency-histogram.ts';
export type { MetricsEndpointOptions } from './metrics-endpoint.ts';
export type { ReportCounts, ReportListener } from './report-inbox.ts';
export {
  type DevicePolicyOptions,
  ROUTING_HISTORY_SIZE,
  type RoutingChange,
} from './routing-control.ts';
