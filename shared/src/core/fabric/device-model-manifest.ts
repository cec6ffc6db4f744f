/**
 * The device model an edge serves its devices (issue 13 item 5, docs/device-sdk.md "Model updates"):
 * a manifest the edge publishes, retained, on `topics.deviceModel(edgeId)` whenever it has a new
 * device-tier model (a deployment's `device` block), and the file itself over the edge's
 * authenticated HTTP listener (`url`, `Authorization: Bearer <deviceId>:<token>`). UTF-8 JSON:
 *
 *   { "edge": "edge-a", "model": "digits-tiny", "version": 2, "sha256": "<64 hex>", "bytes": 36739,
 *     "url": "http://192.168.1.5:8091/device-models/digits-tiny/2/model.onnx",
 *     "config_url": "http://192.168.1.5:8091/device-models/digits-tiny/2/config.json" }
 *
 * `config_url` is absent when the model store has no config for that version. A device compares
 * `model:version` with the model it runs; a reader refuses, with a reason, anything malformed or for
 * another edge, and the device keeps the model it has.
 */
import { FoglineError } from '../errors.ts';
import { isValidName, NAME_RULE } from '../names.ts';
import { isValidId } from './topics.ts';

export interface DeviceModelManifest {
  readonly edge: string;
  readonly model: string;
  readonly version: number;
  /** sha256 of the .onnx file, 64 lowercase hex. */
  readonly sha256: string;
  readonly bytes: number;
  /** http(s) URL of the file on the edge. */
  readonly url: string;
  readonly config_url?: string;
}

/** Largest manifest a reader looks at. */
export const MAX_MANIFEST_BYTES = 4096;
/** Largest device model a device downloads: device models are tiny. */
export const MAX_DEVICE_MODEL_BYTES = 64 * 1024 * 1024;

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export type ManifestReading =
  | { readonly ok: true; readonly manifest: DeviceModelManifest }
  | { readonly ok: false; readonly reason: string };

function isHttpUrl(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 2048) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Checks a manifest before it is published; throws the reader's reason. */
export function encodeDeviceModelManifest(manifest: DeviceModelManifest): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify(manifest));
  const reading = readDeviceModelManifest(payload, manifest.edge);
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `device model manifest: ${reading.reason}`);
  return payload;
}

/** Reads an untrusted manifest for edge `edgeId`; `ok: false` says why it must not be used. */
export function readDeviceModelManifest(payload: Uint8Array, edgeId: string): ManifestReading {
  const refuse = (reason: string): ManifestReading => ({ ok: false, reason });
  if (payload.byteLength > MAX_MANIFEST_BYTES) {
    return refuse(`${payload.byteLength} bytes, more than ${MAX_MANIFEST_BYTES}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return refuse('not UTF-8 JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (!isValidId(m.edge)) return refuse('"edge" must be an edge id');
  if (!isValidName(m.model)) return refuse(`"model" must be a model name (${NAME_RULE})`);
  if (typeof m.version !== 'number' || !Number.isSafeInteger(m.version) || m.version < 1) {
    return refuse('"version" must be an integer >= 1');
  }
  if (typeof m.sha256 !== 'string' || !SHA256_PATTERN.test(m.sha256)) {
    return refuse('"sha256" must be 64 lowercase hex digits');
  }
  if (typeof m.bytes !== 'number' || !Number.isSafeInteger(m.bytes) || m.bytes < 1) {
    return refuse('"bytes" must be an integer >= 1');
  }
  if (m.bytes > MAX_DEVICE_MODEL_BYTES) {
    return refuse(`"bytes" is ${m.bytes}, more than a device model may have (${MAX_DEVICE_MODEL_BYTES})`);
  }
  if (!isHttpUrl(m.url)) return refuse('"url" must be an http(s) URL');
  if (m.config_url !== undefined && !isHttpUrl(m.config_url)) {
    return refuse('"config_url" must be an http(s) URL when present');
  }
  if (m.edge !== edgeId) return refuse(`it is for edge "${m.edge}", not "${edgeId}"`);
  const manifest: DeviceModelManifest = {
    edge: m.edge,
    model: m.model,
    version: m.version,
    sha256: m.sha256,
    bytes: m.bytes,
    url: m.url,
    ...(m.config_url !== undefined && { config_url: m.config_url as string }),
  };
  return { ok: true, manifest: Object.freeze(manifest) };
}
