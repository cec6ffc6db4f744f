/**
 * `fogline models push` and `fogline models versions`: the cloud's model store through the admin API
 * (docs/operations.md "Model store").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelVersionView } from '@fogline/cloud';
import { FoglineError } from '@fogline/shared';
import type { Command } from 'commander';
import { parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

interface PushFlags extends AdminTargetFlags {
  name: string;
  version?: number;
  config?: string;
}

export function registerModelsStore(models: Command): void {
  withAdminTarget(
    models
      .command('push')
      .argument(
        '<model>',
        'a model.onnx file, or a directory holding model.onnx (or <n>/model.onnx) and config.json',
      )
      .description(
        "upload a model (a model.onnx, or a directory holding model.onnx, or <n>/model.onnx and config.json) to the cloud's model store; the cloud checks it before keeping it",
      )
      .requiredOption('--name <name>', 'model name in the store')
      .option(
        '--version <n>',
        'version to store it as (default: the next free one)',
        parsePositiveInt('--version'),
      )
      .option(
        '--config <config.json>',
        "its config.json (default: the directory's, else the model's newest stored version's)",
      ),
  ).action(async (model: string, flags: PushFlags) => {
    const { file, config } = await pushInput(model, flags.config);
    const client = await adminClient(flags);
    const pushed = await client.pushModel({
      name: flags.name,
      file,
      ...(flags.version !== undefined && { version: flags.version }),
      ...(config !== undefined && { config: { ...config, name: flags.name } }),
    });
    if (flags.json) return void console.log(JSON.stringify(pushed, null, 2));
    const v = pushed.version;
    console.log(
      pushed.created
        ? `stored ${v.model}@${v.version} (${v.tier}, ${v.bytes} bytes, sha256 ${v.sha256})`
        : `${v.model}@${v.version} already holds these bytes (sha256 ${v.sha256}): nothing to do`,
    );
  });

  withAdminTarget(
    models
      .command('versions')
      .argument('<name>', 'model name in the store')
      .description("list a model's versions in the cloud's model store"),
  ).action(async (name: string, flags: AdminTargetFlags) => {
    const versions = await (await adminClient(flags)).modelVersions(name);
    if (flags.json) return void console.log(JSON.stringify(versions, null, 2));
    if (versions.length === 0) return void console.log(`no versions of ${name} in the model store`);
    console.log(formatVersions(versions));
  });
}

export function formatVersions(versions: readonly ModelVersionView[]): string {
  return formatTable(
    ['version', 'sha256', 'bytes', 'tier', 'status', 'created'],
    versions.map((v) => [
      String(v.version),
      v.sha256.slice(0, 16),
      String(v.bytes),
      v.tier,
      v.status,
      v.createdAt,
    ]),
  );
}

/** The ONNX file to send and the config to send with it (undefined: the cloud takes the last one). */
async function pushInput(model: string, configFlag?: string): Promise<{ file: string; config?: unknown }> {
  const info = await stat(model).catch((cause) => {
    throw new FoglineError('NOT_FOUND', `cannot read ${model}`, { cause });
  });
  let file = model;
  let configFile = configFlag;
  if (info.isDirectory()) {
    file = await modelFileIn(model);
    if (configFile === undefined && (await isFile(join(model, 'config.json')))) {
      configFile = join(model, 'config.json');
    }
  }
  return configFile === undefined ? { file } : { file, config: await readJsonFile(configFile) };
}

/** `<dir>/model.onnx`, else the newest `<dir>/<n>/model.onnx` (a model repository directory). */
async function modelFileIn(dir: string): Promise<string> {
  if (await isFile(join(dir, 'model.onnx'))) return join(dir, 'model.onnx');
  const versions = (await readdir(dir))
    .filter((d) => /^[1-9]\d*$/.test(d))
    .map(Number)
    .sort((a, b) => b - a);
  for (const v of versions) {
    const path = join(dir, String(v), 'model.onnx');
    if (await isFile(path)) return path;
  }
  throw new FoglineError('NOT_FOUND', `${dir} holds no model.onnx (nor <n>/model.onnx)`);
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((cause) => {
    throw new FoglineError('NOT_FOUND', `cannot read ${path}`, { cause });
  });
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${path}: not valid JSON`, { cause });
  }
}
