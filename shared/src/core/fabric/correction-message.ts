/**
 * Late corrections (docs/edge-agent.md "Late corrections"), encoder beside reader: the message an
 * edge publishes, retained, on `topics.correction(deviceId)` with every correction of that device
 * still within its TTL. A correction says that a request the edge answered `degraded` while the
 * cloud was unreachable got another class from the cloud once it was back. UTF-8 JSON:
 *
 *   { "device": "dev-1", "corrections": [
 *       { "request_id": "k3x-7", "time": 1765000000000, "expires": 1765003600000,
 *         "old": { "tier": "edge", "model": "digits-mid-int8:1", "output_kind": "logits", "outputs": [...] },
 *         "new": { "tier": "cloud", "model": "digits-large:1", "output_kind": "logits", "outputs": [...] } } ] }
 *
 * `time` is when the degraded answer was given, `expires` when the correction leaves the message
 * (ms since the epoch). The whole list is resent on every change and on every (re)subscription, so a
 * device offline when the cloud came back still gets it; receivers deduplicate by `request_id`.
 * An empty payload clears the retained message ([MQTT-3.3.1-10]) and reads as no corrections.
 */
import { FoglineError } from '../errors.ts';
import { OUTPUT_KINDS, type OutputKind } from '../model-config.ts';
import { isModelLabel, isPrintableId, PRINTABLE_ID_RULE } from '../names.ts';
import { isTier, type Tier } from '../routing/tier.ts';
import { isValidId } from './topics.ts';

/** One tier's answer to the request, as real values of its model's first output. */
export interface CorrectionAnswer {
  readonly tier: Tier;
  /** `name:version` of the answering model. */
  readonly model: string;
  readonly outputKind: OutputKind;
  readonly outputs: readonly number[];
}

export interface Correction {
  /** The request's correlation id, as the device sent it (`InferResult.requestId`). */
  readonly requestId: string;
  /** When the degraded answer was given, ms since the epoch. */
  readonly time: number;
  /** When this correction stops being sent, ms since the epoch. */
  readonly expires: number;
  /** The degraded answer the device got. */
  readonly old: CorrectionAnswer;
  /** The cloud's answer, given later. */
  readonly new: CorrectionAnswer;
}

export interface CorrectionMessage {
  readonly device: string;
  readonly corrections: readonly Correction[];
}

export type CorrectionReading =
  | { readonly ok: true; readonly message: CorrectionMessage }
  | { readonly ok: false; readonly reason: string };

/** Largest payload a reader looks at. */
export const MAX_CORRECTION_MESSAGE_BYTES = 64 * 1024;
/** Most corrections one message holds (a sender keeps the newest). */
export const MAX_CORRECTIONS_PER_MESSAGE = 64;
/** Most classes an answer may score. */
const MAX_CLASSES = 4096;

/** The payload for `message`; throws INVALID_ARG on anything its receivers would refuse. */
export function encodeCorrectionMessage(message: CorrectionMessage): Uint8Array {
  const wire = {
    device: message.device,
    corrections: message.corrections.map((c) => ({
      request_id: c.requestId,
      time: c.time,
      expires: c.expires,
      old: answerWire(c.old),
      new: answerWire(c.new),
    })),
  };
  const payload = new TextEncoder().encode(JSON.stringify(wire));
  const reading = readCorrectionMessage(payload, message.device);
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `correction message: ${reading.reason}`);
  return payload;
}

/** Reads an untrusted correction message meant for `deviceId`; `ok: false` says why it is refused. */
export function readCorrectionMessage(payload: Uint8Array, deviceId: string): CorrectionReading {
  const refuse = (reason: string): CorrectionReading => ({ ok: false, reason });
  if (payload.byteLength === 0) return { ok: true, message: { device: deviceId, corrections: [] } };
  if (payload.byteLength > MAX_CORRECTION_MESSAGE_BYTES) {
    return refuse(`${payload.byteLength} bytes, more than ${MAX_CORRECTION_MESSAGE_BYTES}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return refuse('not UTF-8 JSON');
  }
  if (!isObject(raw)) return refuse('not a JSON object');
  if (!isValidId(raw.device)) return refuse('"device" must be a device id');
  if (raw.device !== deviceId) return refuse(`it is for device "${raw.device}", not "${deviceId}"`);
  const list = raw.corrections;
  if (!Array.isArray(list) || list.length > MAX_CORRECTIONS_PER_MESSAGE) {
    return refuse(`"corrections" must be an array of at most ${MAX_CORRECTIONS_PER_MESSAGE}`);
  }
  const corrections: Correction[] = [];
  for (const [i, item] of list.entries()) {
    const read = readCorrection(item);
    if (typeof read === 'string') return refuse(`corrections[${i}]: ${read}`);
    corrections.push(read);
  }
  return { ok: true, message: Object.freeze({ device: deviceId, corrections: Object.freeze(corrections) }) };
}

function readCorrection(raw: unknown): Correction | string {
  if (!isObject(raw)) return 'must be an object';
  const { request_id: requestId, time, expires } = raw;
  if (!isPrintableId(requestId)) return `"request_id" must be ${PRINTABLE_ID_RULE}`;
  if (!isTime(time) || !isTime(expires) || expires < time) {
    return '"time" and "expires" must be ms since the epoch, "expires" not before "time"';
  }
  const old = readAnswer(raw.old, 'old');
  if (typeof old === 'string') return old;
  const answer = readAnswer(raw.new, 'new');
  if (typeof answer === 'string') return answer;
  if (old.outputs.length !== answer.outputs.length) return '"old" and "new" must score as many classes';
  return Object.freeze({ requestId, time, expires, old, new: answer });
}

function readAnswer(raw: unknown, field: string): CorrectionAnswer | string {
  if (!isObject(raw)) return `"${field}" must be an object`;
  const { tier, model, output_kind: outputKind, outputs } = raw;
  if (!isTier(tier)) return `"${field}.tier" must be device|edge|cloud`;
  if (!isModelLabel(model)) return `"${field}.model" must be "name:version"`;
  if (!(OUTPUT_KINDS as readonly unknown[]).includes(outputKind)) {
    return `"${field}.output_kind" must be one of ${OUTPUT_KINDS.join(', ')}`;
  }
  if (
    !Array.isArray(outputs) ||
    outputs.length === 0 ||
    outputs.length > MAX_CLASSES ||
    !outputs.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    return `"${field}.outputs" must be 1–${MAX_CLASSES} finite numbers`;
  }
  return Object.freeze({
    tier,
    model,
    outputKind: outputKind as OutputKind,
    outputs: Object.freeze([...(outputs as number[])]),
  });
}

function answerWire(a: CorrectionAnswer): Record<string, unknown> {
  return { tier: a.tier, model: a.model, output_kind: a.outputKind, outputs: [...a.outputs] };
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
