/**
 * The part of an edge's telemetry message (docs/edge-agent.md "Telemetry") that `GET /api/edges`
 * shows. The message comes from the network, so every field is checked and anything unexpected is
 * left out; a payload that is not a JSON object yields null.
 */
import {
  ALWAYS_ESCALATE_THRESHOLD,
  type CascadeBaseline,
  type DriftReference,
  isScoreKind,
  parseDriftReference,
  type ResolvedPolicy,
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
  /** The edge's drift monitor (docs/edge-agent.md "Drift"), when it runs one. */
  drift?: DriftSummary;
  /** The routing in effect on the edge and its devices (the controller's starting point). */
  routing?: RoutingSummary;
}

export interface RoutingSummary {
  edge: ResolvedPolicy;
  device?: ResolvedPolicy;
  pinned: boolean;
  /** Id of the last cloud directive the edge applied. */
  directive?: string;
  baseline?: CascadeBaseline;
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
    summary.drift = { model, alarm, psi: psi as number | null, windows, alarms };
  }
  const routing = summarizeRouting(asObject(t.routing));
  if (routing) summary.routing = routing;
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
