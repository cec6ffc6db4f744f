/**
 * `fogline quantize --into <repo>`: a quantized copy of a repository model, written as the model
 * `<name>-int8` beside it (docs/model-repository.md "fogline quantize --into"), which `findCascade`
 * prefers when its tier has several models.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FoglineError } from '../core/errors.ts';
import { parseModelConfig } from '../core/model-config.ts';
import { checkName } from '../core/names.ts';
import { replaceFile } from '../storage/atomic-file.ts';
import { diskFullError } from '../storage/disk-full.ts';
import { loadModelEntry, type ModelEntry } from './repository.ts';
import { validateModelFile } from './validate.ts';

export interface QuantizedModelTarget {
  readonly source: ModelEntry;
  readonly name: string;
  readonly dir: string;
  readonly version: number;
  readonly modelPath: string;
  /** True when `<name>-int8` exists: its config (and calibrated routing) is kept, a new version added. */
  readonly keepsConfig: boolean;
}

/**
 * Where the quantized copy of `input` goes in `repoDir`. `input` is a repository model's file
 * (`<any repo>/<name>/<version>/model.onnx`); its config.json is what the copy's config starts from.
 */
export async function quantizedModelTarget(input: string, repoDir: string): Promise<QuantizedModelTarget> {
  const source = await sourceModel(input);
  // A directory of the repository: the one name rule, before anything is quantized or written.
  const name = checkName(`--into: the quantized copy's name "${source.name}-int8"`, `${source.name}-int8`);
  const dir = join(repoDir, name);
  const keepsConfig = existsSync(join(dir, 'config.json'));
  const version = keepsConfig ? ((await loadModelEntry(repoDir, name)).latestVersion ?? 0) + 1 : 1;
  return { source, name, dir, version, modelPath: join(dir, String(version), 'model.onnx'), keepsConfig };
}

/**
 * Writes the quantized bytes and, for a new model, its config: the source's fields as written, with
 * the new name and a description saying how it was quantized. Then checks config against file.
 */
export async function writeQuantizedModel(
  target: QuantizedModelTarget,
  bytes: Uint8Array,
  settings: string,
): Promise<ModelEntry> {
  const configFile = join(target.dir, 'config.json');
  if (!target.keepsConfig) {
    const raw = JSON.parse(await readFile(join(target.source.dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const config = {
      ...raw,
      name: target.name,
      description: `${target.source.name} quantized to INT8 by \`fogline quantize\` (${settings})`,
    };
    parseModelConfig(config, configFile, target.name);
    await mkdir(target.dir, { recursive: true });
    await replaceFile(configFile, `${JSON.stringify(config, null, 2)}\n`).catch(refuseWrite(target));
  }
  const versionDir = dirname(target.modelPath);
  await mkdir(versionDir, { recursive: true })
    .then(() => replaceFile(target.modelPath, bytes))
    .catch(async (err: unknown) => {
      // Never a half-written file as the repository's newest version, nor a new model with no file.
      await rm(versionDir, { recursive: true, force: true });
      if (!target.keepsConfig) {
        await rm(configFile, { force: true });
        await rmdir(target.dir).catch(() => {}); // when nothing else is in it
      }
      refuseWrite(target)(err);
    });
  const entry = await loadModelEntry(dirname(target.dir), target.name);
  await validateModelFile(entry, target.version);
  return entry;
}

/** A full disk said as such (RESOURCE_EXHAUSTED naming it); any other error as it is. */
function refuseWrite(target: QuantizedModelTarget): (err: unknown) => never {
  return (err) => {
    throw (
      diskFullError(
        err,
        target.dir,
        ` while writing ${target.name} v${target.version}; nothing of it was left`,
      ) ?? err
    );
  };
}

async function sourceModel(input: string): Promise<ModelEntry> {
  const versionDir = dirname(resolve(input));
  const modelDir = dirname(versionDir);
  const inRepository =
    basename(input) === 'model.onnx' &&
    /^[1-9]\d*$/.test(basename(versionDir)) &&
    existsSync(join(modelDir, 'config.json'));
  if (!inRepository) {
    throw new FoglineError(
      'INVALID_ARG',
      `--into copies the config of the model it quantizes: ${input} is not <repo>/<name>/<version>/model.onnx beside a config.json`,
    );
  }
  return loadModelEntry(dirname(modelDir), basename(modelDir));
}
