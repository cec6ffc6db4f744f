/**
 * What the edge agent counts, and the JSON it publishes on `topics.telemetry(edgeId)` every few
 * seconds (docs/edge-agent.md "Telemetry"). Counters are totals since start; consumers diff them.
 */
import type { AuditRateInEffect, CascadeBaseline, ErrorCode, ResolvedPolicy } from '@fogline/shared';
import type { BreakerState } from './cloud-breaker.ts';
import { type HistogramSnapshot, LatencyHistogram } from './latency-histogram.ts';
import type { ReportCounts } from './report-inbox.ts';

/**
 * Why a message on the infer topic got no reply of its own: there was nowhere to send one, or it
 * repeated a request still in flight (same reply topic and id), whose reply answers it.
 */
export type DropReason = 'malformed-no-reply-to' | 'shutting-down' | 'duplicate-in-flight';

export interface TelemetryCounts {
  /** Messages that arrived on the infer topic. */
  received: number;
  /** Answered by the edge model, not degraded (confident, or too little budget for the cloud). */
  edge: number;
  /** Answered by the cloud model. */
  cloud: number;
  /** Answered by the edge model because the cloud was unavailable (breaker open, error, timeout). */
  degraded: number;
  /** Explicit error replies sent. */
  errors: number;
  /** Messages given no reply of their own (no readable reply topic; a repeat of one in flight). */
  dropped: number;
  /** Cloud calls attempted. */
  escalations: number;
}

export interface TelemetryGauges {
  breaker: BreakerState;
  /** Requests waiting for a batch. */
  queueDepth: number;
  /** Requests received and not yet answered. */
  inFlight: number;
  /** Devices in the current device list. */
  devices: number;
  /** The drift monitor, when the edge runs one (docs/edge-agent.md "Drift"). */
  drift?: DriftTelemetry;
  /** The routing in effect (docs/edge-agent.md "Telemetry"): what the cloud's controller starts from. */
  routing?: RoutingTelemetry;
}

export interface RoutingTelemetry {
  /** The edge's own stage. */
  edge: ResolvedPolicy;
  /** The devices' stage: the policy last published to them, else the calibrated one; absent if unknown. */
  device?: ResolvedPolicy;
  /** Pinned on the edge: the cloud's directives are refused. */
  pinned: boolean;
  /** Id of the last cloud directive applied. */
  directive?: string;
  /** The calibrated cascade's figures from the edge config's `drift.baseline`. */
  baseline?: CascadeBaseline;
  /** The devices' audit rate in effect and where it comes from (audit-rate.ts). */
  audit?: AuditRateInEffect;
}

export interface DriftTelemetry {
  /** `name:version` of the device model whose scores are compared. */
  model: string;
  alarm: boolean;
  /** PSI of the last closed window; null before the first. */
  psi: number | null;
  /** Totals since start: windows closed, alarms raised. */
  windows: number;
  alarms: number;
  /** When the alarm in effect went on (ISO 8601), while it is on: the cloud restarts its records from there. */
  since?: string;
}

export interface TelemetryMessage extends TelemetryGauges {
  edgeId: string;
  /** Wall-clock time of the snapshot, ISO 8601. */
  at: string;
  uptimeMs: number;
  /** `name:version` of the edge model. */
  model: string;
  counts: TelemetryCounts;
  errorsByCode: Partial<Record<ErrorCode, number>>;
  droppedByReason: Partial<Record<DropReason, number>>;
  breakerOpens: number;
  latencyMs: { edge: HistogramSnapshot; cloud: HistogramSnapshot; total: HistogramSnapshot };
  /**
   * The devices' reports (report-inbox.ts), totals since start: read by kind, malformed, of an
   * unknown kind, and dropped over the embedded broker's per-device report bucket (absent with an
   * external broker, which does not say). Drift detection and the field-accuracy loop live on them,
   * so the cloud sees when they are being lost.
   */
  reports?: TelemetryReports;
}

export interface TelemetryReports {
  accepted: ReportCounts['accepted'];
  malformed: number;
  unknownKind: number;
  dropped?: number;
}

/** ReportCounts as JSON carries them: no `dropped` where the broker does not count it. */
export function telemetryReports(counts: ReportCounts): TelemetryReports {
  const { accepted, malformed, unknownKind, dropped } = counts;
  return { accepted: { ...accepted }, malformed, unknownKind, ...(dropped !== undefined && { dropped }) };
}

export class EdgeTelemetry {
  readonly counts: TelemetryCounts = {
    received: 0,
    edge: 0,
    cloud: 0,
    degraded: 0,
    errors: 0,
    dropped: 0,
    escalations: 0,
  };
  /** Edge time per request: receipt → local answer ready (queue + batch + mid model). */
  readonly edgeLatency = new LatencyHistogram();
  /** Duration of each cloud call as seen by the edge, successful or not. */
  readonly cloudLatency = new LatencyHistogram();
  /** Receipt → reply published. */
  readonly totalLatency = new LatencyHistogram();
  private readonly errorsByCode: Partial<Record<ErrorCode, number>> = {};
  private readonly droppedByReason: Partial<Record<DropReason, number>> = {};
  breakerOpens = 0;

  recordError(code: ErrorCode): void {
    this.counts.errors++;
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
  }

  recordDrop(reason: DropReason): void {
    this.counts.dropped++;
    this.droppedByReason[reason] = (this.droppedByReason[reason] ?? 0) + 1;
  }

  snapshot(
    identity: { edgeId: string; model: string; uptimeMs: number; at: Date },
    gauges: TelemetryGauges,
    reports?: ReportCounts,
  ): TelemetryMessage {
    return {
      edgeId: identity.edgeId,
      at: identity.at.toISOString(),
      uptimeMs: Math.round(identity.uptimeMs),
      model: identity.model,
      counts: { ...this.counts },
      errorsByCode: { ...this.errorsByCode },
      droppedByReason: { ...this.droppedByReason },
      breakerOpens: this.breakerOpens,
      ...gauges,
      latencyMs: {
        edge: this.edgeLatency.snapshot(),
        cloud: this.cloudLatency.snapshot(),
        total: this.totalLatency.snapshot(),
      },
      ...(reports && { reports: telemetryReports(reports) }),
    };
  }
}
