/** Node: the device model from a path, a file: URL or http(s), and its config.json beside it. */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FoglineError } from '@fogline/shared';
import {
  configFromText,
  fetchConfigNextTo,
  fetchModelBytes,
  type LocatedConfig,
  repositoryPlaceOf,
} from './model-source.ts';

/** The committed digits-tiny model of this repository. */
export const DEFAULT_MODEL_PATH = fileURLToPath(
  new URL('../../models/digits-tiny/1/model.onnx', import.meta.url),
);

function localPath(source: string | URL): string | undefined {
  const text = String(source);
  if (text.startsWith('file:')) return fileURLToPath(text);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? undefined : text;
}

export async function loadModelBytes(source: string | URL): Promise<Uint8Array> {
  const path = localPath(source);
  if (path === undefined) return fetchModelBytes(source);
  try {
    return await readFile(path);
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `cannot read the device model ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** `<name>/config.json` for `<name>/<version>/model.onnx`; undefined when there is none. */
export async function loadConfigNextTo(source: string | URL): Promise<LocatedConfig | undefined> {
  const path = localPath(source);
  if (path === undefined) return fetchConfigNextTo(source);
  const place = repositoryPlaceOf(path);
  if (place === undefined) return undefined;
  const file = join(dirname(dirname(path)), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ENOENT') return undefined;
    throw new FoglineError('NOT_FOUND', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return { config: configFromText(text, file, place.name), file };
}
