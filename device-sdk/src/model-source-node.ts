/** Node: the device model from a path, a file: URL or http(s), and the policy from its config.json. */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RoutingPolicy } from '@fogline/shared';
import { FoglineError } from '@fogline/shared';
import { fetchModelBytes, fetchPolicyNextTo, policyFromConfigText } from './model-source.ts';

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

export async function loadPolicyNextTo(source: string | URL): Promise<RoutingPolicy | undefined> {
  const path = localPath(source);
  if (path === undefined) return fetchPolicyNextTo(source);
  try {
    return policyFromConfigText(await readFile(join(dirname(dirname(path)), 'config.json'), 'utf8'));
  } catch {
    return undefined;
  }
}
