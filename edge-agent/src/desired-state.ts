/**
 * The desired state the cloud publishes, retained, on `topics.desired(edgeId)` (docs/design.md "Persistence
 * and control plane"): the edge's device list (ids and token hashes, never tokens) and the model
 * versions it should serve. Exact shape (docs/edge-agent.md "Desired state"):
 *
 *   { "version": 7,
 *     "devices": [{ "id": "dev-1", "tokenHash": "scrypt$16384$8$1$<salt>$<hash>" }],
 *     "models": { "digits-mid": 1 },       // optional: model name → desired version
 *     "routing": { "id": ..., "reason": ..., "device": {...}, "edge": {...} },    // optional
 *     "audit_rate": 0.5,                   // optional: the operator's audit rate for the devices
 *     "deployment": { "id": "d-12", "model": "digits-mid", "version": 3, ... } }  // optional
 *
 * Unknown fields are ignored. A message that fails validation is refused as a whole, so a corrupt
 * publish never empties the device list. The `routing` block (the cloud → edge policy channel,
 * shared `RoutingDirective`) is passed on as it came and validated on its own by cloud-routing.ts:
 * a bad block is refused there and never costs the device list. The `deployment` block (shared
 * model-deployment.ts) is passed on the same way, to the deployer (deployment/deployer.ts), and
 * `audit_rate` (shared audit-rate.ts) to audit-rate.ts.
 */
import { FoglineError, isValidId } from '@fogline/shared';

export interface DeviceCredential {
  readonly id: string;
  /** `hashSecret(token)` from @fogline/shared/secrets. */
  readonly tokenHash: string;
}

export interface DesiredState {
  /** Increases with every change the cloud makes; reported back so the cloud sees what applied. */
  readonly version: number;
  readonly devices: readonly DeviceCredential[];
  readonly models?: Readonly<Record<string, number>>;
  /** The routing block as received (unvalidated: cloud-routing.ts reads it). */
  readonly routing?: unknown;
  /** The operator's audit rate as received (unvalidated: audit-rate.ts reads it); absent: none. */
  readonly auditRate?: unknown;
  /** The deployment block as received (unvalidated: deployment/deployer.ts and device-models/ read it). */
  readonly deployment?: unknown;
}

/** Upper bound on the list, so a hostile or broken publish cannot make the edge allocate without end. */
export const MAX_DEVICES = 100_000;
const MAX_HASH_LENGTH = 512;

export function parseDesiredState(raw: unknown): DesiredState {
  const fail = (problem: string): never => {
    throw new FoglineError('INVALID_ARG', `desired state: ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const { version, devices, models, routing, deployment, audit_rate: auditRate } = obj;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    fail('"version" must be a non-negative integer');
  }
  if (!Array.isArray(devices)) return fail('"devices" must be an array');
  if (devices.length > MAX_DEVICES) fail(`"devices" has ${devices.length} entries, more than ${MAX_DEVICES}`);
  const seen = new Set<string>();
  const list = devices.map((d: unknown, i): DeviceCredential => {
    if (typeof d !== 'object' || d === null) return fail(`devices[${i}] must be an object`);
    const { id, tokenHash } = d as Record<string, unknown>;
    if (!isValidId(id)) return fail(`devices[${i}].id must be 1-64 chars of [A-Za-z0-9._-]`);
    if (seen.has(id)) fail(`device "${id}" appears more than once`);
    seen.add(id);
    if (
      typeof tokenHash !== 'string' ||
      !tokenHash.startsWith('scrypt$') ||
      tokenHash.length > MAX_HASH_LENGTH
    ) {
      fail(`devices[${i}].tokenHash must be a "scrypt$..." hash`);
    }
    return Object.freeze({ id, tokenHash: tokenHash as string });
  });
  const state: {
    version: number;
    devices: readonly DeviceCredential[];
    models?: Record<string, number>;
    routing?: unknown;
    auditRate?: unknown;
    deployment?: unknown;
  } = {
    version: version as number,
    devices: Object.freeze(list),
  };
  if (models !== undefined) state.models = parseModels(models, fail);
  if (routing !== undefined) state.routing = routing;
  if (auditRate !== undefined) state.auditRate = auditRate;
  if (deployment !== undefined) state.deployment = deployment;
  return Object.freeze(state);
}

function parseModels(models: unknown, fail: (problem: string) => never): Record<string, number> {
  if (typeof models !== 'object' || models === null || Array.isArray(models))
    return fail('"models" must be an object');
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(models)) {
    if (!isValidId(name)) fail(`model name ${JSON.stringify(name).slice(0, 70)} is not a valid name`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      fail(`models["${name}"] must be a positive integer`);
    out[name] = v as number;
  }
  return Object.freeze(out);
}

/** Parses the raw bytes of an MQTT payload (UTF-8 JSON). */
export function decodeDesiredState(payload: Uint8Array): DesiredState {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', 'desired state is not UTF-8 JSON', { cause });
  }
  return parseDesiredState(raw);
}
