/**
 * Deployed model files on disk (docs/edge-agent.md "Deployments"):
 *
 *   <dataDir>/models/<name>/<version>/model.onnx   (0600; model.onnx.partial(.json) while it downloads)
 *   <dataDir>/models/<name>/<version>/config.json  (the store's config of that version)
 *
 * directories 0700. A version dir is a one-version model entry the edge loads like a repository's,
 * and the config it carries must keep the serving model's tensors: the devices' requests must fit it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError, type ModelConfig, type ModelRef, parseModelConfig } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import { fileSha256 } from '@fogline/shared/storage';

export const MODEL_FILE = 'model.onnx';
export const CONFIG_FILE = 'config.json';

export function versionDir(dataDir: string, ref: ModelRef): string {
  return join(dataDir, 'models', ref.model, String(ref.version));
}

/** Whether `path` exists and hashes to `sha256`. */
export async function holds(path: string, sha256: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return (await fileSha256(path).catch(() => '')) === sha256;
}

/** Validates a config.json (from the cloud or the disk) for `name`; throws INVALID_ARG. */
export function readDeployedConfig(raw: unknown, where: string, name: string): ModelConfig {
  return parseModelConfig(raw, where, name);
}

/** The one-version model entry of a version dir holding model.onnx and config.json. */
export async function deployedEntry(dataDir: string, ref: ModelRef): Promise<ModelEntry> {
  const dir = versionDir(dataDir, ref);
  const configPath = join(dir, CONFIG_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `cannot read ${configPath}`, { cause });
  }
  return entryOf(ref, dir, readDeployedConfig(raw, configPath, ref.model));
}

export function entryOf(ref: ModelRef, dir: string, config: ModelConfig): ModelEntry {
  const path = join(dir, MODEL_FILE);
  return {
    name: ref.model,
    dir,
    config,
    versions: [ref.version],
    latestVersion: ref.version,
    modelPath(version = ref.version) {
      if (version !== ref.version) {
        throw new FoglineError('NOT_FOUND', `${dir} holds version ${ref.version} only, not ${version}`);
      }
      return path;
    },
  };
}

/**
 * Why `next` cannot replace `serving` for the same devices, or undefined when it can: the same
 * sample shape of its one input, and as many classes in its first output.
 */
export function incompatibility(serving: ModelConfig, next: ModelConfig): string | undefined {
  const shape = (s: readonly number[]) => `[${s.slice(1).join(',')}]`;
  const a = serving.inputs[0];
  const b = next.inputs[0];
  if (!a || !b || next.inputs.length !== 1) return 'the edge serves models of exactly one input';
  if (shape(a.shape) !== shape(b.shape)) {
    return `its input's sample shape ${shape(b.shape)} differs from the serving model's ${shape(a.shape)}: the devices' requests would not fit`;
  }
  const classes = (c: ModelConfig) => c.outputs[0]?.shape.at(-1);
  if (classes(serving) !== classes(next)) {
    return `its first output has ${classes(next)} classes, the serving model's ${classes(serving)}`;
  }
  return undefined;
}
