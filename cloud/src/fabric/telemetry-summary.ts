/**
 * The part of an edge's telemetry message (docs/edge-agent.md "Telemetry") that `GET /api/edges`
 * shows. The message comes from the network, so every field is checked and anything unexpected is
 * left out; a payload that is not a JSON object yields null.
 */
import {
  ALWAYS_ESCALATE_THRESHOLD,
  type AuditRateInEffect,
  type CascadeBaseline,
  type DriftReference,
  isScoreKind,
  parseDriftReference,
  REPORT_KINDS,
  type ReportKind,
  type ResolvedPolicy,
  readAuditRateInEffect,
} from '@fogline/shared';

export interface TelemetrySummary {
  /** When the edge took the snapshot (its clock), ISO 8601. */
  at?: string;
  uptimeMs?: number;
  /** `name:version` of the edge model. */
  model?: string;
  breaker?: string;
  devices?: number;
  queueDepth?: number;
  inFlight?: number;
  /** Totals since the edge started: received, edge, cloud, degraded, errors, dropped, escalations. */
  counts?: Record<string, number>;
  /** Mean latency per histogram (edge, cloud, total), ms. */
  meanLatencyMs?: Record<string, number>;
  /**
   * p50 and p99 per histogram since the edge started: the upper bound (ms) of the bucket holding the
   * quantile; null when it lies above the last bound.
   */
  quantileMs?: Record<string, { p50: number | null; p99: number | null }>;
  /** The edge's drift monitor (docs/edge-agent.md "Drift"), when it runs one. */
  drift?: DriftSummary;
  /** The routing in effect on the edge and its devices (the controller's starting point). */
  routing?: RoutingSummary;
  /** Its devices' reports since the edge started (docs/edge-agent.md "Telemetry"). */
  reports?: ReportsSummary;
}

export interface ReportsSummary {
  /** Read, by kind. */
  accepted: Partial<Record<ReportKind, number>>;
  malformed?: number;
  unknownKind?: number;
  /** Dropped over the edge broker's per-device report bucket; absent where the edge cannot say. */
  dropped?: number;
}

export interface RoutingSummary {
  edge: ResolvedPolicy;
  device?: ResolvedPolicy;
  pinned: boolean;
  /** Id of the last cloud directive the edge applied. */
  directive?: string;
  baseline?: CascadeBaseline;
  /** The devices' audit rate in effect and where it comes from (shared audit-rate.ts). */
  audit?: AuditRateInEffect;
}

export interface DriftSummary {
  /** `name:version` of the device model whose score histograms the edge compares. */
  model: string;
  alarm: boolean;
  /** PSI of the last closed window; null before the first. */
  psi: number | null;
  /** Totals since the edge started: windows closed, alarms raised. */
  windows: number;
  alarms: number;
  /** When the alarm in effect went on (ISO 8601), while it is on and the edge says. */
  since?: string;
}

const COUNT_FIELDS = ['received', 'edge', 'cloud', 'degraded', 'errors', 'dropped', 'escalations'];
const HISTOGRAMS = ['edge', 'cloud', 'total'];
const MAX_TEXT = 128;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_TEXT;
const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function summarizeTelemetry(payload: Uint8Array): TelemetrySummary | null {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return null;
  }
  const t = asObject(raw);
  if (!t) return null;
  const summary: TelemetrySummary = {};
  if (isText(t.at)) summary.at = t.at;
  if (isCount(t.uptimeMs)) summary.uptimeMs = t.uptimeMs;
  if (isText(t.model)) summary.model = t.model;
  if (isText(t.breaker)) summary.breaker = t.breaker;
  for (const field of ['devices', 'queueDepth', 'inFlight'] as const) {
    if (isCount(t[field])) summary[field] = t[field];
  }
  const counts = asObject(t.counts);
  if (counts) {
    summary.counts = {};
    for (const field of COUNT_FIELDS) if (isCount(counts[field])) summary.counts[field] = counts[field];
  }
  const latency = asObject(t.latencyMs);
  if (latency) {
    summary.meanLatencyMs = {};
    for (const name of HISTOGRAMS) {
      const h = asObject(latency[name]);
      if (h && isCount(h.count) && h.count > 0 && isCount(h.sumMs)) {
        summary.meanLatencyMs[name] = Math.round((h.sumMs / h.count) * 100) / 100;
        const quantiles = bucketQuantiles(h.boundsMs, h.counts);
        if (quantiles) summary.quantileMs = { ...summary.quantileMs, [name]: quantiles };
      }
    }
  }
  const drift = asObject(t.drift);
  if (
    drift &&
    isText(drift.model) &&
    typeof drift.alarm === 'boolean' &&
    (drift.psi === null || isCount(drift.psi)) &&
    isCount(drift.windows) &&
    isCount(drift.alarms)
  ) {
    const { model, alarm, psi, windows, alarms } = drift;
    const since = alarm && isText(drift.since) ? Date.parse(drift.since) : Number.NaN;
    summary.drift = {
      model,
      alarm,
      psi: psi as number | null,
      windows,
      alarms,
      ...(Number.isFinite(since) && { since: new Date(since).toISOString() }),
    };
  }
  const routing = summarizeRouting(asObject(t.routing));
  if (routing) summary.routing = routing;
  const reports = summarizeReports(asObject(t.reports));
  if (reports) summary.reports = reports;
  return summary;
}

function summarizeReports(r: Record<string, unknown> | undefined): ReportsSummary | undefined {
  const accepted = asObject(r?.accepted);
  if (!r || !accepted) return undefined;
  const summary: ReportsSummary = { accepted: {} };
  for (const kind of REPORT_KINDS) if (isCount(accepted[kind])) summary.accepted[kind] = accepted[kind];
  for (const field of ['malformed', 'unknownKind', 'dropped'] as const) {
    if (isCount(r[field])) summary[field] = r[field];
  }
  return summary;
}

/** The cloud model's calibration score histogram, when the baseline has a valid one. */
function cloudScoresOf(raw: unknown): DriftReference | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseDriftReference(raw, (field, problem) => {
      throw new Error(`${field} ${problem}`);
    });
  } catch {
    return undefined;
  }
}

const isShare = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;

function policyOf(raw: unknown): ResolvedPolicy | undefined {
  const p = asObject(raw);
  if (!p || !isScoreKind(p.score)) return undefined;
  const t = p.threshold;
  return isShare(t) || t === ALWAYS_ESCALATE_THRESHOLD
    ? { score: p.score, threshold: t as number }
    : undefined;
}

function summarizeRouting(r: Record<string, unknown> | undefined): RoutingSummary | undefined {
  const edge = policyOf(r?.edge);
  if (!r || !edge || typeof r.pinned !== 'boolean') return undefined;
  const summary: RoutingSummary = { edge, pinned: r.pinned };
  const device = policyOf(r.device);
  if (device) summary.device = device;
  if (isText(r.directive)) summary.directive = r.directive;
  const audit = readAuditRateInEffect(r.audit);
  if (audit) summary.audit = audit;
  const b = asObject(r.baseline);
  if (b && isShare(b.disagreement) && isShare(b.edgeAgreement) && isShare(b.cloudAccuracy)) {
    const cloudScores = cloudScoresOf(b.cloudScores);
    summary.baseline = {
      disagreement: b.disagreement,
      edgeAgreement: b.edgeAgreement,
      cloudAccuracy: b.cloudAccuracy,
      ...(cloudScores && { cloudScores }),
    };
  }
  return summary;
}

/** p50/p99 of a histogram message (`boundsMs`, `counts` one longer), or undefined when malformed. */
function bucketQuantiles(
  bounds: unknown,
  counts: unknown,
): { p50: number | null; p99: number | null } | undefined {
  if (!Array.isArray(bounds) || !Array.isArray(counts) || counts.length !== bounds.length + 1)
    return undefined;
  if (bounds.length > 64 || !bounds.every(isCount) || !counts.every(isCount)) return undefined;
  const total = counts.reduce((a: number, b: number) => a + b, 0);
  if (total === 0) return undefined;
  const at = (q: number): number | null => {
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i] as number;
      if (seen >= q * total) return i < bounds.length ? (bounds[i] as number) : null;
    }
    return null;
  };
  return { p50: at(0.5), p99: at(0.99) };
}
