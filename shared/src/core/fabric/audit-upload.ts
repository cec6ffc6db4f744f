/**
 * Audits an edge uploads to the cloud (docs/cloud.md "Audit upload"), encoder beside reader:
 *
 *   POST /v2/fogline/edges/{edgeId}/audits      Authorization: Bearer <edgeId>:<edge token>
 *   { "cloud_model": "digits-large", "keep_inputs": true,
 *     "audits": [ { "device_id": "dev-1", "audit": { <audit body, audit-report.ts> },
 *                   "edge": { "model": "digits-small:1", "outputs": [..], "score": 0.93 } } ] }
 *
 * `cloud_model` names the model the edge escalates to (the reference); `keep_inputs: false` is the
 * edge's opt-out: the cloud runs its model on the inputs but stores none. `edge` is null when the
 * edge shed its own pass on that audit. `shadow` (optional, same shape as `edge`) is the answer of the
 * edge's previous model version on the same input while a deployment's accuracy gate runs
 * (model-deployment.ts): the cloud pairs it with `edge` against its reference.
 */
import { isLongModelName, isModelLabel } from '../names.ts';
import { type AuditBody, auditWire, MAX_AUDIT_CLASSES, readAuditBody } from './audit-report.ts';
import { isValidId } from './topics.ts';

/** Most audits in one upload. */
export const MAX_AUDIT_UPLOAD = 32;

export interface EdgeAnswerOfAudit {
  /** `name:version` of the edge model. */
  readonly model: string;
  readonly outputs: readonly number[];
  /** Its routing score (the edge policy's score kind). */
  readonly score: number;
}

export interface AuditUploadItem {
  readonly deviceId: string;
  readonly audit: AuditBody;
  readonly edge: EdgeAnswerOfAudit | null;
  /** The previous edge model's answer on the same input, during a deployment's gate. */
  readonly shadow?: EdgeAnswerOfAudit;
}

export interface AuditUpload {
  readonly cloudModel: string;
  readonly keepInputs: boolean;
  readonly audits: readonly AuditUploadItem[];
}

export function encodeAuditUpload(upload: AuditUpload): string {
  return JSON.stringify({
    cloud_model: upload.cloudModel,
    keep_inputs: upload.keepInputs,
    audits: upload.audits.map((item) => ({
      device_id: item.deviceId,
      audit: auditWire(item.audit),
      edge: item.edge && edgeAnswerWire(item.edge),
      ...(item.shadow !== undefined && { shadow: edgeAnswerWire(item.shadow) }),
    })),
  });
}

function edgeAnswerWire(answer: EdgeAnswerOfAudit): { model: string; outputs: number[]; score: number } {
  return { model: answer.model, outputs: [...answer.outputs], score: answer.score };
}

export type AuditUploadReading = { ok: true; upload: AuditUpload } | { ok: false; reason: string };

/** Reads an untrusted upload (parsed JSON): all of it, or nothing, with the first reason. */
export function readAuditUpload(raw: unknown): AuditUploadReading {
  const refuse = (reason: string): AuditUploadReading => ({ ok: false, reason });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return refuse('body must be a JSON object');
  const { cloud_model: cloudModel, keep_inputs: keepInputs, audits } = raw as Record<string, unknown>;
  if (!isLongModelName(cloudModel)) return refuse('"cloud_model" must be a model name');
  if (typeof keepInputs !== 'boolean') return refuse('"keep_inputs" must be true or false');
  if (!Array.isArray(audits) || audits.length === 0 || audits.length > MAX_AUDIT_UPLOAD) {
    return refuse(`"audits" must hold 1–${MAX_AUDIT_UPLOAD} audits`);
  }
  const items: AuditUploadItem[] = [];
  for (const [i, entry] of audits.entries()) {
    const at = `audits[${i}]`;
    if (typeof entry !== 'object' || entry === null) return refuse(`${at} must be an object`);
    const { device_id: deviceId, audit, edge, shadow } = entry as Record<string, unknown>;
    if (!isValidId(deviceId)) return refuse(`${at}.device_id must be a device id`);
    const reading = readAuditBody(audit);
    if (!reading.ok) return refuse(`${at}.audit: ${reading.reason}`);
    const edgeAnswer = readEdgeAnswer(edge, reading.audit.deviceOutputs.length);
    if (typeof edgeAnswer === 'string') return refuse(`${at}.edge: ${edgeAnswer}`);
    const shadowAnswer =
      shadow === undefined ? undefined : readEdgeAnswer(shadow, reading.audit.deviceOutputs.length);
    if (typeof shadowAnswer === 'string') return refuse(`${at}.shadow: ${shadowAnswer}`);
    if (shadowAnswer === null) return refuse(`${at}.shadow: must be an object when present`);
    items.push(
      Object.freeze({
        deviceId,
        audit: reading.audit,
        edge: edgeAnswer,
        ...(shadowAnswer !== undefined && { shadow: shadowAnswer }),
      }),
    );
  }
  return { ok: true, upload: Object.freeze({ cloudModel, keepInputs, audits: Object.freeze(items) }) };
}

function readEdgeAnswer(raw: unknown, classes: number): EdgeAnswerOfAudit | null | string {
  if (raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'must be an object or null';
  const { model, outputs, score } = raw as Record<string, unknown>;
  if (!isModelLabel(model)) return '"model" must be "name:version"';
  if (
    !Array.isArray(outputs) ||
    outputs.length !== classes ||
    outputs.length > MAX_AUDIT_CLASSES ||
    !outputs.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    return `"outputs" must be ${classes} finite numbers`;
  }
  if (typeof score !== 'number' || !Number.isFinite(score)) return '"score" must be a finite number';
  return Object.freeze({ model, outputs: Object.freeze([...outputs]), score });
}
