/**
 * Model rollout over the desired-state channel (docs/operations.md "Rollout"). The cloud names the
 * model an edge should serve in an optional `deployment` block of the edge's desired state; the edge
 * reports how far it got in the `deployment` field of its reported state (MQTT `edge/{id}/reported`,
 * or HTTP for an edge with no cloud broker).
 *
 *   desired:  "deployment": { "id": "d-12", "model": "digits-mid", "version": 3,
 *                             "sha256": "<64 hex>", "bytes": 123456,
 *                             "gate": { "shadowMs": 600000, "minPaired": 40, "maxDrop": 0.05 },
 *                             "device": { "model": "digits-tiny", "version": 2, "sha256": "...", "bytes": 9000 } }
 *   reported: "deployment": { "id": "d-12", "model": "digits-mid", "version": 3, "state": "downloading",
 *                             "receivedBytes": 65536, "totalBytes": 123456,
 *                             "previous": { "model": "digits-mid", "version": 2 },
 *                             "failure": { "kind": "checksum", "message": "..." },
 *                             "gate": { "paired": 31, "newCorrect": 30, "oldCorrect": 29 } }
 *
 * An edge applies each deployment `id` once: a deployment it failed or rolled back is not retried
 * until the cloud sends a new id (a rollback by hand is a new deployment of the previous version).
 * The file and its config come from the model store (`GET /v2/fogline/models/{model}/versions/{v}/file`
 * and `.../config`, with the edge's token). Both sides read these blocks only through the readers here.
 */
import { CHANGE_ID_RULE, isChangeId, isValidName, NAME_RULE } from '../names.ts';

export interface DeploymentGate {
  /** How long the previous version runs in shadow beside the new one, on audited inputs. */
  readonly shadowMs: number;
  /** Paired records needed before the gate may judge. */
  readonly minPaired: number;
  /** Largest accepted drop of agreement with the reference (0..1), judged on a confidence bound. */
  readonly maxDrop: number;
}

export interface DeploymentDirective {
  /** 1–64 chars of [A-Za-z0-9._:-]; a new id for every deployment and every rollback. */
  readonly id: string;
  readonly model: string;
  readonly version: number;
  /** sha256 of the .onnx file, 64 lowercase hex. */
  readonly sha256: string;
  readonly bytes: number;
  /** Absent: no accuracy gate (the swap is final once warm). */
  readonly gate?: DeploymentGate;
  /** `fogline deploy --devices`: the device-tier model the edge serves its devices (issue 13 item 5). */
  readonly device?: ModelFile;
}

/** A model file in the cloud's model store. */
export interface ModelFile {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly bytes: number;
}

export const DEPLOYMENT_STATES = [
  'downloading',
  'verifying',
  'warming',
  'active',
  'failed',
  'rolled_back',
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

export const DEPLOYMENT_FAILURES = [
  'download',
  'size',
  'checksum',
  'load',
  'warmup',
  'accuracy',
  'manual',
] as const;
export type DeploymentFailureKind = (typeof DEPLOYMENT_FAILURES)[number];

export interface ModelRef {
  readonly model: string;
  readonly version: number;
}

export interface DeploymentReport extends ModelRef {
  readonly id: string;
  readonly state: DeploymentState;
  readonly receivedBytes?: number;
  readonly totalBytes?: number;
  /** What served before the swap (and serves again after a rollback). */
  readonly previous?: ModelRef;
  /** Set in `failed` and `rolled_back`: why, in one line. */
  readonly failure?: { readonly kind: DeploymentFailureKind; readonly message: string };
  /** The accuracy gate's paired count so far (while the previous version runs in shadow). */
  readonly gate?: { readonly paired: number; readonly newCorrect: number; readonly oldCorrect: number };
}

export type Reading<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
export const MAX_FAILURE_MESSAGE = 500;

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isVersion = (v: unknown): v is number => isCount(v) && v >= 1;

function readModelRef(raw: unknown, at: string): ModelRef | string {
  const r = asObject(raw);
  if (!r) return `${at} must be an object { model, version }`;
  // The name becomes a directory of the edge (`<dataDir>/models/<name>/`): never `.` or `..`.
  if (!isValidName(r.model)) return `${at}.model must be a model name (${NAME_RULE})`;
  if (!isVersion(r.version)) return `${at}.version must be an integer >= 1`;
  return { model: r.model, version: r.version };
}

function readGate(raw: unknown): DeploymentGate | string {
  const g = asObject(raw);
  if (!g) return 'deployment.gate must be an object { shadowMs, minPaired, maxDrop }';
  if (!isCount(g.shadowMs)) return 'deployment.gate.shadowMs must be an integer >= 0';
  if (!isVersion(g.minPaired)) return 'deployment.gate.minPaired must be an integer >= 1';
  if (typeof g.maxDrop !== 'number' || !(g.maxDrop >= 0 && g.maxDrop <= 1)) {
    return 'deployment.gate.maxDrop must be a number in [0, 1]';
  }
  return Object.freeze({ shadowMs: g.shadowMs, minPaired: g.minPaired, maxDrop: g.maxDrop });
}

/** Validates an untrusted model file `{ model, version, sha256, bytes }` (`at` names it in the reason); never throws. */
export function readModelFile(raw: unknown, at = 'file'): Reading<ModelFile> {
  const file = modelFileOf(raw, at);
  return typeof file === 'string' ? { ok: false, reason: file } : { ok: true, value: file };
}

function modelFileOf(raw: unknown, at: string): ModelFile | string {
  const ref = readModelRef(raw, at);
  if (typeof ref === 'string') return ref;
  const f = raw as Record<string, unknown>;
  if (typeof f.sha256 !== 'string' || !SHA256_PATTERN.test(f.sha256)) {
    return `${at}.sha256 must be 64 lowercase hex digits`;
  }
  if (!isVersion(f.bytes)) return `${at}.bytes must be an integer >= 1`;
  return Object.freeze({ ...ref, sha256: f.sha256, bytes: f.bytes });
}

/** Validates an untrusted `deployment` block of a desired state; never throws. */
export function readDeploymentDirective(raw: unknown): Reading<DeploymentDirective> {
  const d = asObject(raw);
  if (!d) return { ok: false, reason: 'deployment must be an object' };
  if (!isChangeId(d.id)) {
    return { ok: false, reason: `deployment.id must be ${CHANGE_ID_RULE}` };
  }
  const file = modelFileOf(d, 'deployment');
  if (typeof file === 'string') return { ok: false, reason: file };
  const directive: { -readonly [K in keyof DeploymentDirective]: DeploymentDirective[K] } = {
    id: d.id,
    ...file,
  };
  if (d.gate !== undefined) {
    const gate = readGate(d.gate);
    if (typeof gate === 'string') return { ok: false, reason: gate };
    directive.gate = gate;
  }
  if (d.device !== undefined) {
    const device = modelFileOf(d.device, 'deployment.device');
    if (typeof device === 'string') return { ok: false, reason: device };
    directive.device = device;
  }
  return { ok: true, value: Object.freeze(directive) };
}

/** Validates an untrusted `deployment` field of a reported state; never throws. */
export function readDeploymentReport(raw: unknown): Reading<DeploymentReport> {
  const r = asObject(raw);
  if (!r) return { ok: false, reason: 'deployment must be an object' };
  if (!isChangeId(r.id)) {
    return { ok: false, reason: `deployment.id must be ${CHANGE_ID_RULE}` };
  }
  const ref = readModelRef(r, 'deployment');
  if (typeof ref === 'string') return { ok: false, reason: ref };
  if (!DEPLOYMENT_STATES.includes(r.state as DeploymentState)) {
    return { ok: false, reason: `deployment.state must be one of ${DEPLOYMENT_STATES.join(', ')}` };
  }
  const report: { -readonly [K in keyof DeploymentReport]: DeploymentReport[K] } = {
    id: r.id,
    ...ref,
    state: r.state as DeploymentState,
  };
  for (const key of ['receivedBytes', 'totalBytes'] as const) {
    if (r[key] === undefined) continue;
    if (!isCount(r[key])) return { ok: false, reason: `deployment.${key} must be an integer >= 0` };
    report[key] = r[key];
  }
  if (r.previous !== undefined) {
    const previous = readModelRef(r.previous, 'deployment.previous');
    if (typeof previous === 'string') return { ok: false, reason: previous };
    report.previous = previous;
  }
  if (r.failure !== undefined) {
    const f = asObject(r.failure);
    if (
      !f ||
      !DEPLOYMENT_FAILURES.includes(f.kind as DeploymentFailureKind) ||
      typeof f.message !== 'string'
    ) {
      return {
        ok: false,
        reason: `deployment.failure must be { kind: ${DEPLOYMENT_FAILURES.join('|')}, message }`,
      };
    }
    report.failure = {
      kind: f.kind as DeploymentFailureKind,
      message: f.message.slice(0, MAX_FAILURE_MESSAGE),
    };
  }
  if (r.gate !== undefined) {
    const g = asObject(r.gate);
    if (!g || !isCount(g.paired) || !isCount(g.newCorrect) || !isCount(g.oldCorrect)) {
      return { ok: false, reason: 'deployment.gate must be { paired, newCorrect, oldCorrect } counts' };
    }
    report.gate = { paired: g.paired, newCorrect: g.newCorrect, oldCorrect: g.oldCorrect };
  }
  return { ok: true, value: Object.freeze(report) };
}
