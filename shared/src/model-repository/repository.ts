import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FoglineError } from '../core/errors.ts';
import { type OipBackend, parseModelBackend } from '../core/model-backend.ts';
import { configFieldFail, type ModelConfig, parseModelConfig } from '../core/model-config.ts';
import { checkName } from '../core/names.ts';

/** `<repo>/models`, found relative to this source file so it works from any cwd. */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../../models', import.meta.url));

/**
 * Reports a model directory may hold beside its files (docs/model-repository.md "Reports"):
 * `<repo>/<model>/calibration.json`, the `fogline calibrate` report its config's routing came from;
 * `<repo>/<model>/<version>/quantize.json`, the `fogline quantize --into` report of that version.
 */
export const MODEL_REPORT_FILES = { calibration: 'calibration.json', quantization: 'quantize.json' } as const;

export interface ModelEntry {
  readonly name: string;
  readonly dir: string;
  readonly config: ModelConfig;
  /** Version directories holding a model.onnx, ascending. */
  readonly versions: readonly number[];
  readonly latestVersion: number;
  modelPath(version?: number): string;
}

export interface ModelRepository {
  readonly dir: string;
  list(): readonly ModelEntry[];
  /** Throws NOT_FOUND naming the known models. */
  get(name: string): ModelEntry;
  has(name: string): boolean;
}

/**
 * Completes the config.json of a model with a `backend` (served by another server) from that server:
 * the config with the remote's tensors filled in, and the version it serves as here. Only the cloud
 * has one (cloud/src/serving/remote/).
 */
export type BackendResolver = (
  raw: Readonly<Record<string, unknown>>,
  backend: OipBackend,
  configFile: string,
) => Promise<{ raw: unknown; version: number }>;

/**
 * Reads one model directory: config.json plus numeric version folders with a model.onnx, or, for a
 * config with a `backend`, what `resolveBackend` learns from the remote (no model file; INVALID_ARG
 * without a resolver).
 */
export async function loadModelEntry(
  repoDir: string,
  name: string,
  resolveBackend?: BackendResolver,
): Promise<ModelEntry> {
  // The name goes into topics, URLs, reports and the edge's paths (core/names.ts): refused here, at
  // the repository, rather than by whoever reads it next.
  checkName(`model directory ${join(repoDir, name)}: the model name`, name);
  const dir = join(repoDir, name);
  const configFile = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `model "${name}": cannot read ${configFile}`, { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${configFile}: not valid JSON`, { cause });
  }
  if (typeof raw === 'object' && raw !== null && 'backend' in raw) {
    const fields = raw as Record<string, unknown>;
    const backend = parseModelBackend(fields.backend, configFieldFail(configFile));
    if (!resolveBackend) {
      throw new FoglineError(
        'INVALID_ARG',
        `${configFile}: model "${name}" has a "backend" (it is served by ${backend.url}); only the cloud serves such a model`,
        { details: { file: configFile, servedBy: backend.url } },
      );
    }
    const remote = await resolveBackend(fields, backend, configFile);
    return backendEntry(name, dir, parseModelConfig(remote.raw, configFile, name), remote.version);
  }
  const config = parseModelConfig(raw, configFile, name);
  const versions = (await readdir(dir, { withFileTypes: true }))
    .filter(
      (d) => d.isDirectory() && /^[1-9]\d*$/.test(d.name) && existsSync(join(dir, d.name, 'model.onnx')),
    )
    .map((d) => Number(d.name))
    .sort((a, b) => a - b);
  const latestVersion = versions.at(-1);
  if (latestVersion === undefined) {
    throw new FoglineError(
      'NOT_FOUND',
      `model "${name}": no version directory with a model.onnx under ${dir}`,
    );
  }
  return {
    name,
    dir,
    config,
    versions,
    latestVersion,
    modelPath(version = latestVersion) {
      if (!versions.includes(version)) {
        throw new FoglineError(
          'NOT_FOUND',
          `model "${name}" has no version ${version} (have ${versions.join(', ')})`,
        );
      }
      return join(dir, String(version), 'model.onnx');
    },
  };
}

/** A model served by another server: one version, and no model file to point at. */
function backendEntry(name: string, dir: string, config: ModelConfig, version: number): ModelEntry {
  return {
    name,
    dir,
    config,
    versions: [version],
    latestVersion: version,
    modelPath() {
      throw new FoglineError(
        'INVALID_ARG',
        `model "${name}" is served by ${config.backend?.url ?? 'another server'}: it has no model file here`,
      );
    },
  };
}

/** The model directories of a repository: sub-directories holding a config.json, sorted. */
export async function modelDirNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'config.json')))
      .map((d) => d.name)
      .sort();
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `model repository ${dir} cannot be read`, { cause });
  }
}

/**
 * Scans `dir` for model directories (any sub-directory holding a config.json). Models with a
 * `backend` are left out: only the cloud serves them (its ModelServer reads them one by one).
 */
export async function loadModelRepository(dir: string = DEFAULT_MODELS_DIR): Promise<ModelRepository> {
  const entries: ModelEntry[] = [];
  for (const name of await modelDirNames(dir)) {
    try {
      entries.push(await loadModelEntry(dir, name));
    } catch (err) {
      if (servedElsewhere(err) === undefined) throw err;
    }
  }
  return repositoryOf(dir, entries);
}

/** The URL serving a model, when `err` is loadModelEntry's refusal of a `backend` model. */
export function servedElsewhere(err: unknown): string | undefined {
  const servedBy = (err as FoglineError | undefined)?.details?.servedBy;
  return err instanceof FoglineError && typeof servedBy === 'string' ? servedBy : undefined;
}

/** A repository view over entries already loaded. */
export function repositoryOf(dir: string, list: readonly ModelEntry[]): ModelRepository {
  const entries = new Map(list.map((e) => [e.name, e]));
  return {
    dir,
    list: () => [...entries.values()],
    has: (name) => entries.has(name),
    get(name) {
      const entry = entries.get(name);
      if (!entry) {
        throw new FoglineError(
          'NOT_FOUND',
          `unknown model "${name}" (known: ${[...entries.keys()].join(', ')})`,
        );
      }
      return entry;
    },
  };
}
