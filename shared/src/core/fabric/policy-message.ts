/**
 * The policy message an edge publishes, retained, on `topics.policy(edgeId)` for its devices
 * (docs/design.md "Protocols"): the routing policy its devices' model should apply from their next
 * inference on, without reconnecting. UTF-8 JSON, like the desired state:
 *
 *   { "edge": "edge-a", "version": 1765000000000, "model": "digits-tiny:1",
 *     "policy": { "score": "margin", "threshold": 0.33 }, "audit_rate": 0.02 }
 *
 * `version` increases with every publish of that edge (the edge uses its wall clock in ms, so a
 * restarted edge still moves forward); `model` is the `name:version` of the device model the policy
 * was fitted for. Without `policy` the message only sets the audit rate (a drift alarm's, from an edge
 * that has sent its devices no policy): each device keeps the routing it applies. A reader refuses,
 * with a reason, anything malformed, out of range, for another edge or model, carrying neither a
 * policy nor an audit rate, or not newer than what it applies: the receiver keeps its current policy.
 */
import { FoglineError } from '../errors.ts';
import { isModelLabel } from '../names.ts';
import { ALWAYS_ESCALATE_THRESHOLD, type ResolvedPolicy } from '../routing/policy.ts';
import { isScoreKind, SCORE_KINDS } from '../routing/score-kind.ts';
import { isAuditRate } from './audit-rate.ts';
import { isValidId } from './topics.ts';

export interface PolicyMessage {
  readonly edge: string;
  /** Positive safe integer, strictly increasing per edge. */
  readonly version: number;
  /** `name:version` of the device model this policy applies to. */
  readonly model: string;
  /** Absent: the devices keep the routing they apply (then `audit_rate` is there). */
  readonly policy?: ResolvedPolicy;
  /** Share of requests a device audits, in [0, 1]; absent = the device keeps its own. */
  readonly audit_rate?: number;
}

/** What a receiver expects of a policy message (its own edge and model, newer than what it has). */
export interface PolicyExpectation {
  readonly edge: string;
  readonly model: string;
  /** Version of the policy in effect from this edge; undefined = none yet. */
  readonly afterVersion?: number;
}

/** Why a policy message was refused: a stable code (for counters) and a sentence (for the log line). */
export type PolicyRefusal = 'malformed' | 'out-of-range' | 'other-edge' | 'other-model' | 'not-newer';

export type PolicyReading =
  | { readonly ok: true; readonly message: PolicyMessage }
  | { readonly ok: false; readonly code: PolicyRefusal; readonly reason: string };

/** Largest payload a reader looks at: a policy message is a few hundred bytes. */
export const MAX_POLICY_MESSAGE_BYTES = 4096;

function isThreshold(v: unknown): v is number {
  return typeof v === 'number' && ((v >= 0 && v <= 1) || v === ALWAYS_ESCALATE_THRESHOLD);
}

/**
 * Checks a message before it is sent; throws the reader's reason (a sender never publishes what its
 * own receivers would refuse).
 */
export function encodePolicyMessage(message: PolicyMessage): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify(message));
  const reading = readPolicyMessage(payload, { edge: message.edge, model: message.model });
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `policy message: ${reading.reason}`);
  return payload;
}

/** Reads an untrusted policy message; `ok: false` says why it must not be applied. */
export function readPolicyMessage(payload: Uint8Array, expect: PolicyExpectation): PolicyReading {
  const refuse = (reason: string, code: PolicyRefusal = 'malformed'): PolicyReading => ({
    ok: false,
    code,
    reason,
  });
  if (payload.byteLength > MAX_POLICY_MESSAGE_BYTES) {
    return refuse(`${payload.byteLength} bytes, more than ${MAX_POLICY_MESSAGE_BYTES}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return refuse('not UTF-8 JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('not a JSON object');
  const { edge, version, model, policy, audit_rate: auditRate } = raw as Record<string, unknown>;
  if (!isValidId(edge)) return refuse('"edge" must be an edge id');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return refuse('"version" must be a positive integer');
  }
  if (!isModelLabel(model)) return refuse('"model" must be "name:version"');
  let routing: ResolvedPolicy | undefined;
  if (policy !== undefined) {
    const read = readPolicy(policy);
    if (typeof read === 'string') return refuse(read, 'out-of-range');
    if (read === undefined) return refuse('"policy" must be an object');
    routing = read;
  }
  if (auditRate !== undefined && !isAuditRate(auditRate)) {
    return refuse('"audit_rate" must be in [0, 1]', 'out-of-range');
  }
  if (routing === undefined && auditRate === undefined) {
    return refuse('it carries neither "policy" nor "audit_rate"');
  }
  if (edge !== expect.edge) return refuse(`it is for edge "${edge}", not "${expect.edge}"`, 'other-edge');
  if (model !== expect.model)
    return refuse(`it is for model "${model}", not "${expect.model}"`, 'other-model');
  if (expect.afterVersion !== undefined && version <= expect.afterVersion) {
    return refuse(`version ${version} is not newer than ${expect.afterVersion}`, 'not-newer');
  }
  const message: PolicyMessage = {
    edge,
    version,
    model,
    ...(routing !== undefined && { policy: routing }),
    ...(auditRate !== undefined && { audit_rate: auditRate }),
  };
  return { ok: true, message: Object.freeze(message) };
}

/** The message's `policy`; a string says why it is out of range, undefined that it is not an object. */
function readPolicy(policy: unknown): ResolvedPolicy | string | undefined {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) return undefined;
  const { score, threshold } = policy as Record<string, unknown>;
  if (!isScoreKind(score)) return `"policy.score" must be one of ${SCORE_KINDS.join(', ')}`;
  if (!isThreshold(threshold)) {
    return `"policy.threshold" must be a number in [0, 1] or ${ALWAYS_ESCALATE_THRESHOLD}, got ${String(threshold)}`;
  }
  return Object.freeze({ score, threshold });
}
