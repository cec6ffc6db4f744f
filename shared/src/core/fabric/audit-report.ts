/**
 * The body of an audit report (`kind: 'audit'` on `topics.report(deviceId)`, docs/field-accuracy.md
 * "Audits"): one answered request, sampled by the device with probability `rate` after its caller had
 * the answer. Encoder beside reader; the wire form is JSON inside the report envelope:
 *
 *   { "id": "req-7", "time": 1765000000000, "rate": 0.02, "model": "digits-tiny:1",
 *     "input": { "name": "x", "datatype": "FP32", "shape": [1,1,28,28], "data": "<base64 LE>",
 *                "scale": 0.0039, "zero_point": 0 },
 *     "device": { "outputs": [..real values..], "score": 0.91 },
 *     "answer": { "tier": "edge", "outputs": [..], "model_versions": "digits-tiny:1,digits-small:1" } }
 *
 * `input` is the tensor an escalation would carry (the model input after preprocessing, raw
 * little-endian bytes in base64); `input.scale`/`zero_point` are the input's quantization, if any.
 * `answer.outputs` is present when an upper tier answered. Readers refuse anything else with a reason.
 *
 * Feedback (`device.feedback`, kind `feedback`) is the same body with `"source": "feedback"` and the
 * application's true class, `"label": 3`: a request the application chose to label, so a biased
 * sample — it counts only as ground truth, never in uniform measures (its `rate` is 1 and says
 * nothing about sampling). An audit has no `source` (or `"audit"`) and no `label`.
 */
import { readTensorBytes } from '../codec/tensor-bytes.ts';
import { FoglineError } from '../errors.ts';
import type { TensorQuantization } from '../model-config.ts';
import { isModelLabel, isPrintableId, PRINTABLE_ID_RULE } from '../names.ts';
import { DATATYPE_BYTE_SIZE, isDatatype, type Tensor } from '../oip.ts';
import { isTier, type Tier } from '../routing/tier.ts';
import type { DeviceReport } from './report-message.ts';

export interface AuditBody {
  /** The request's id (the correlation id an escalation of it carried, or the device's own). */
  readonly id: string;
  /** When the request was answered, ms since the epoch (device clock). */
  readonly time: number;
  /** The probability with which this request was audited, in (0, 1]: weight records by 1/rate. */
  readonly rate: number;
  /** `name:version` of the device model. */
  readonly model: string;
  readonly input: Tensor;
  readonly inputQuantization?: TensorQuantization;
  /** The device model's output, real values, and its routing score. */
  readonly deviceOutputs: readonly number[];
  readonly deviceScore: number;
  /** The tier whose answer the caller got, its output when it was not the device's, and its versions. */
  readonly tier: Tier;
  readonly answerOutputs?: readonly number[];
  readonly answerModelVersions?: string;
  /** 'feedback': sent by `device.feedback` with the true class in `label` (default 'audit'). */
  readonly source?: AuditSource;
  /** The application's true class (a class index), with `source: 'feedback'` only. */
  readonly label?: number;
}

export type AuditSource = 'audit' | 'feedback';

/** Whether `body` is the application's feedback (ground truth) rather than a uniform audit. */
export function isFeedback(body: AuditBody): body is AuditBody & { source: 'feedback'; label: number } {
  return body.source === 'feedback';
}

/** Most classes an audit may score (outputs length). */
export const MAX_AUDIT_CLASSES = 4096;

/**
 * The report a device sends for one audit, or for its feedback (kind `feedback` when the body's
 * source is); throws INVALID_ARG on a body its edge would refuse.
 */
export function auditReport(body: AuditBody): DeviceReport {
  const wire = auditWire(body);
  const reading = readAuditBody(JSON.parse(JSON.stringify(wire)));
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `audit: ${reading.reason}`);
  return Object.freeze({ kind: isFeedback(body) ? 'feedback' : 'audit', body: wire });
}

/** The JSON form of an audit body (as carried by a report, or uploaded by an edge). */
export function auditWire(body: AuditBody): Record<string, unknown> {
  if (body.input.datatype === 'BYTES') throw new FoglineError('INVALID_ARG', 'audit: BYTES input');
  const { data } = body.input;
  const input: Record<string, unknown> = {
    name: body.input.name,
    datatype: body.input.datatype,
    shape: [...body.input.shape],
    data: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  };
  if (body.inputQuantization) {
    input.scale = body.inputQuantization.scale;
    input.zero_point = body.inputQuantization.zero_point;
  }
  const answer: Record<string, unknown> = { tier: body.tier };
  if (body.answerOutputs) answer.outputs = [...body.answerOutputs];
  if (body.answerModelVersions !== undefined) answer.model_versions = body.answerModelVersions;
  return {
    id: body.id,
    time: body.time,
    rate: body.rate,
    model: body.model,
    input,
    device: { outputs: [...body.deviceOutputs], score: body.deviceScore },
    answer,
    ...(isFeedback(body) && { source: 'feedback', label: body.label }),
  };
}

export type AuditReading = { ok: true; audit: AuditBody } | { ok: false; reason: string };

/** Reads an untrusted audit body (already parsed JSON); `ok: false` says what is wrong. */
export function readAuditBody(raw: unknown): AuditReading {
  const refuse = (reason: string): AuditReading => ({ ok: false, reason });
  if (!isObject(raw)) return refuse('audit body must be an object');
  const { id, time, rate, model, input, device, answer, source, label } = raw;
  if (!isPrintableId(id)) return refuse(`"id" must be ${PRINTABLE_ID_RULE}`);
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
    return refuse('"time" must be ms since the epoch');
  }
  if (typeof rate !== 'number' || !(rate > 0 && rate <= 1)) return refuse('"rate" must be in (0, 1]');
  if (!isModelLabel(model)) return refuse('"model" must be "name:version"');
  const tensor = readInput(input);
  if (typeof tensor === 'string') return refuse(tensor);
  if (!isObject(device)) return refuse('"device" must be an object');
  const deviceOutputs = readOutputs(device.outputs);
  if (!deviceOutputs) return refuse(`"device.outputs" must be 1–${MAX_AUDIT_CLASSES} finite numbers`);
  if (!isFiniteNumber(device.score)) return refuse('"device.score" must be a finite number');
  if (!isObject(answer) || !isTier(answer.tier)) return refuse('"answer.tier" must be device|edge|cloud');
  let answerOutputs: readonly number[] | undefined;
  if (answer.outputs !== undefined) {
    answerOutputs = readOutputs(answer.outputs);
    if (answerOutputs?.length !== deviceOutputs.length) {
      return refuse('"answer.outputs" must be finite numbers, as many as "device.outputs"');
    }
  }
  const versions = answer.model_versions;
  if (versions !== undefined && (typeof versions !== 'string' || versions.length > 512)) {
    return refuse('"answer.model_versions" must be a string');
  }
  if (source !== undefined && source !== 'audit' && source !== 'feedback') {
    return refuse('"source" must be "audit" or "feedback"');
  }
  const feedback = source === 'feedback';
  if (
    feedback &&
    !(Number.isInteger(label) && (label as number) >= 0 && (label as number) < deviceOutputs.length)
  ) {
    return refuse(`"label" must be a class index in [0, ${deviceOutputs.length})`);
  }
  if (!feedback && label !== undefined) return refuse('"label" is for source "feedback" only');
  const audit: AuditBody = {
    id,
    time,
    rate,
    model,
    input: tensor.tensor,
    ...(tensor.quantization && { inputQuantization: tensor.quantization }),
    deviceOutputs,
    deviceScore: device.score,
    tier: answer.tier,
    ...(answerOutputs && { answerOutputs }),
    ...(versions !== undefined && { answerModelVersions: versions }),
    ...(feedback && { source: 'feedback' as const, label: label as number }),
  };
  return { ok: true, audit: Object.freeze(audit) };
}

function readInput(raw: unknown): { tensor: Tensor; quantization: TensorQuantization | undefined } | string {
  if (!isObject(raw)) return '"input" must be an object';
  const { name, datatype, shape, data, scale, zero_point: zeroPoint } = raw;
  if (typeof name !== 'string' || name.length === 0 || name.length > 128)
    return '"input.name" must be a name';
  if (!isDatatype(datatype) || datatype === 'BYTES') return '"input.datatype" must be a numeric datatype';
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    shape.length > 8 ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 1)
  ) {
    return '"input.shape" must be 1–8 positive integers';
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (typeof data !== 'string') return '"input.data" must be base64';
  const bytes = fromBase64(data);
  if (!bytes || bytes.length !== count * DATATYPE_BYTE_SIZE[datatype]) {
    return `"input.data" must be base64 of ${count} ${datatype} elements`;
  }
  let quantization: TensorQuantization | undefined;
  if (scale !== undefined || zeroPoint !== undefined) {
    if (!isFiniteNumber(scale) || !(scale > 0) || !Number.isInteger(zeroPoint)) {
      return '"input.scale" must be positive and "input.zero_point" an integer';
    }
    quantization = Object.freeze({ scale, zero_point: zeroPoint as number });
  }
  try {
    const values = readTensorBytes(datatype, bytes, count, 'audit input');
    const tensor = { name, datatype, shape: Object.freeze([...shape]), data: values } as Tensor;
    return { tensor, quantization };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function readOutputs(raw: unknown): readonly number[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_AUDIT_CLASSES) return undefined;
  return raw.every(isFiniteNumber) ? Object.freeze([...raw]) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

// Base64 with the platform's btoa/atob (Node ≥ 16 and browsers): the device SDK runs in both.
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
