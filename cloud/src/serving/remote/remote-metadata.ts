/**
 * Completes the config.json of a model with an OIP `backend` from its remote server at load
 * (`BackendResolver`, shared/src/model-repository/repository.ts): the inputs and outputs (names,
 * datatypes, shapes, fogline's quantization), the platform and the versions come from the remote's
 * OIP model metadata (`GET /v2/models/{m}[/versions/{v}]`), so requests to the model are validated
 * exactly as a local model's; `max_batch_size` from config.json, else from the remote's Triton model
 * configuration (`…/config`, served by Triton and fogline), else 1. A fogline remote's
 * `parameters.output_kind` and `labels` fill in what config.json leaves out (the edge's cascade reads
 * them). The model loads (READY) only when the remote answers.
 */
import {
  configFieldFail,
  FoglineError,
  fromUnknown,
  type OipBackend,
  parseModelConfig,
  resolveBackendHeaders,
} from '@fogline/shared';
import type { BackendResolver } from '@fogline/shared/model-repository';
import { OipHttpClient } from './oip-http-client.ts';

/** Time the remote gets to answer each metadata call at load. */
const METADATA_TIMEOUT_MS = 10_000;
/** Fields a backend model takes from its remote, which its config.json must leave out. */
const FROM_REMOTE = ['inputs', 'outputs', 'platform'] as const;

/** The remote model's route, `v2/models/{m}[/versions/{v}]` (relative to the backend URL). */
export function remoteModelPath(backend: OipBackend): string {
  const model = `v2/models/${encodeURIComponent(backend.model)}`;
  return backend.version === undefined ? model : `${model}/versions/${encodeURIComponent(backend.version)}`;
}

/** How errors and logs name the remote model: its URL and name, never its headers. */
export function remoteName(backend: OipBackend): string {
  const version = backend.version === undefined ? '' : ` version ${backend.version}`;
  return `remote model "${backend.model}"${version} at ${backend.url}`;
}

/** A resolver reading `${ENV}` references of backend headers from `env`. */
export function backendResolver(env: Readonly<Record<string, string | undefined>>): BackendResolver {
  return async (raw, backend, configFile) => {
    const name = typeof raw.name === 'string' ? raw.name : '?';
    const fail = configFieldFail(configFile);
    for (const field of FROM_REMOTE) {
      if (raw[field] !== undefined) {
        fail(field, `comes from the remote server's metadata for a model with a "backend"; leave it out`);
      }
    }
    const client = new OipHttpClient({
      url: backend.url,
      headers: resolveBackendHeaders(name, backend, env),
      maxSockets: 1,
    });
    const where = remoteName(backend);
    try {
      const path = remoteModelPath(backend);
      const metadata = asObject(
        await client.getJson(path, where, AbortSignal.timeout(METADATA_TIMEOUT_MS)),
        `${where}: metadata`,
      );
      let maxBatchSize = raw.max_batch_size;
      if (maxBatchSize === undefined) {
        const config = await client
          .getJson(`${path}/config`, where, AbortSignal.timeout(METADATA_TIMEOUT_MS))
          .catch(() => undefined);
        maxBatchSize = remoteMaxBatchSize(config, where) ?? 1;
      }
      const parameters = asObject(metadata.parameters ?? {}, `${where}: metadata parameters`);
      const merged: Record<string, unknown> = {
        ...raw,
        platform:
          typeof metadata.platform === 'string' && metadata.platform !== '' ? metadata.platform : 'oip',
        max_batch_size: maxBatchSize,
        inputs: tensorsOf(metadata.inputs, `${where}: metadata inputs`),
        outputs: tensorsOf(metadata.outputs, `${where}: metadata outputs`),
      };
      if (raw.output_kind === undefined && parameters.output_kind !== undefined) {
        merged.output_kind = parameters.output_kind;
      }
      if (raw.labels === undefined && Array.isArray(parameters.labels) && parameters.labels.length > 0) {
        merged.labels = parameters.labels;
      }
      try {
        parseModelConfig(merged, configFile, name);
      } catch (err) {
        const e = fromUnknown(err);
        throw new FoglineError('INVALID_ARG', `${where}: its metadata does not fit (${e.message})`, {
          cause: e,
        });
      }
      return { raw: merged, version: servedVersion(backend, metadata.versions) };
    } finally {
      client.close();
    }
  };
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FoglineError('INVALID_ARG', `${what} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

/** OIP `$metadata_tensor`s as config.json tensors (fogline's `parameters.quantization` kept). */
function tensorsOf(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v) || v.length === 0) throw new FoglineError('INVALID_ARG', `${what}: none listed`);
  return v.map((t, i) => {
    const o = asObject(t, `${what}[${i}]`);
    const quantization = (o.parameters as { quantization?: unknown } | undefined)?.quantization;
    return {
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      ...(quantization !== undefined && { quantization }),
    };
  });
}

/** Triton's model configuration `max_batch_size`; 0 (no batch dim) is a model fogline cannot serve. */
function remoteMaxBatchSize(config: unknown, where: string): number | undefined {
  const value = (config as { max_batch_size?: unknown } | undefined)?.max_batch_size;
  if (!Number.isInteger(value)) return undefined;
  if ((value as number) < 1) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where} has max_batch_size ${String(value)} (no batch dim): fogline serves batching models only`,
    );
  }
  return value as number;
}

/** The version the model serves as here: the pinned one when numeric, else the remote's latest, else 1. */
function servedVersion(backend: OipBackend, versions: unknown): number {
  const numeric = (v: unknown) => (typeof v === 'string' && /^[1-9]\d{0,8}$/.test(v) ? Number(v) : undefined);
  const pinned = numeric(backend.version);
  if (pinned !== undefined) return pinned;
  const listed = Array.isArray(versions) ? versions.map(numeric).filter((n) => n !== undefined) : [];
  return listed.length > 0 ? Math.max(...listed) : 1;
}
