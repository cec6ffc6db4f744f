/**
 * The cloud → edge policy channel (docs/edge-agent.md "Desired state"): an optional `routing` block
 * of the desired state, carrying the thresholds the cloud's controller (or an operator) wants an edge
 * and its devices to route by:
 *
 *   "routing": { "id": "c-1765000000000", "reason": "drift alarm: escalating more",
 *                "device": { "score": "margin", "threshold": 0.58 },
 *                "edge":   { "score": "margin", "threshold": 0.61 } }
 *
 * `id` names the directive (an edge applies each id once and reports the id it applied); `reason`
 * is one line a person can read. Score kinds stay as calibrated: a reader that knows the kinds in
 * use refuses a directive with another kind (`expectScores`). Built by the cloud, read by the edge
 * and by the cloud's admin API, always through `readRoutingDirective`.
 */
import { CHANGE_ID_RULE, isChangeId } from '../names.ts';
import { ALWAYS_ESCALATE_THRESHOLD, type ResolvedPolicy } from '../routing/policy.ts';
import { isScoreKind, SCORE_KINDS, type ScoreKind } from '../routing/score-kind.ts';

export interface RoutingDirective {
  /** 1–64 chars of [A-Za-z0-9._:-]; a new id for every change. */
  readonly id: string;
  /** Why, in one line (≤ 500 chars). */
  readonly reason: string;
  readonly device: ResolvedPolicy;
  readonly edge: ResolvedPolicy;
}

/** The score kinds a reader routes by; a directive with another kind is refused. */
export interface ExpectedScores {
  readonly device?: ScoreKind;
  readonly edge?: ScoreKind;
}

export type RoutingDirectiveReading =
  | { readonly ok: true; readonly directive: RoutingDirective }
  | { readonly ok: false; readonly reason: string };

export const MAX_ROUTING_REASON = 500;

function isThreshold(v: unknown): v is number {
  return typeof v === 'number' && ((v >= 0 && v <= 1) || v === ALWAYS_ESCALATE_THRESHOLD);
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Reads one stage (`device` or `edge`), or says what is wrong with it. */
function readStage(raw: unknown, stage: 'device' | 'edge', expect?: ScoreKind): ResolvedPolicy | string {
  const p = asObject(raw);
  if (!p) return `routing.${stage} must be an object { score, threshold }`;
  if (!isScoreKind(p.score)) return `routing.${stage}.score must be one of ${SCORE_KINDS.join(', ')}`;
  if (!isThreshold(p.threshold)) {
    return `routing.${stage}.threshold must be a number in [0, 1] or ${ALWAYS_ESCALATE_THRESHOLD}, got ${String(p.threshold).slice(0, 40)}`;
  }
  if (expect !== undefined && p.score !== expect) {
    return `routing.${stage}.score is ${p.score}, but this ${stage} routes by ${expect} (score kinds stay as calibrated)`;
  }
  return Object.freeze({ score: p.score, threshold: p.threshold });
}

/** Validates an untrusted routing block; never throws. */
export function readRoutingDirective(
  raw: unknown,
  expectScores: ExpectedScores = {},
): RoutingDirectiveReading {
  const r = asObject(raw);
  if (!r) return { ok: false, reason: 'routing must be an object' };
  if (!isChangeId(r.id)) {
    return { ok: false, reason: `routing.id must be ${CHANGE_ID_RULE}` };
  }
  if (typeof r.reason !== 'string' || r.reason.length > MAX_ROUTING_REASON) {
    return { ok: false, reason: `routing.reason must be a string of at most ${MAX_ROUTING_REASON} chars` };
  }
  const device = readStage(r.device, 'device', expectScores.device);
  if (typeof device === 'string') return { ok: false, reason: device };
  const edge = readStage(r.edge, 'edge', expectScores.edge);
  if (typeof edge === 'string') return { ok: false, reason: edge };
  return { ok: true, directive: Object.freeze({ id: r.id, reason: r.reason, device, edge }) };
}
