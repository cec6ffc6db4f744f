/**
 * Where the device model and its routing policy come from, by URL (fetch: browsers, http servers).
 * `models/<name>/<version>/model.onnx` sits in a version directory next to its `config.json`
 * (model repository layout).
 */
import type { RoutingPolicy } from '@fogline/shared';
import { FoglineError } from '@fogline/shared';

export async function fetchModelBytes(url: string | URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new FoglineError('UNAVAILABLE', `cannot fetch the device model from ${url}: ${String(cause)}`, {
      cause,
    });
  }
  if (!response.ok) throw new FoglineError('NOT_FOUND', `device model ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The `routing` block of a config.json text, or undefined when it has none usable. */
export function policyFromConfigText(text: string): RoutingPolicy | undefined {
  try {
    const routing = (JSON.parse(text) as { routing?: unknown }).routing as Partial<RoutingPolicy> | undefined;
    if (routing && typeof routing.score === 'string') {
      return { score: routing.score, threshold: routing.threshold ?? null };
    }
  } catch {
    // not JSON: no policy from it
  }
  return undefined;
}

/** The policy in the config.json of the model at `modelUrl`, if one is served there. */
export async function fetchPolicyNextTo(modelUrl: string | URL): Promise<RoutingPolicy | undefined> {
  try {
    // `<name>/<version>/model.onnx` → `<name>/config.json`
    const response = await fetch(new URL('../config.json', modelUrl));
    return response.ok ? policyFromConfigText(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** "digits-tiny:1" for `.../digits-tiny/1/model.onnx`; else the file name. */
export function modelVersionOf(source: string | URL): string {
  const parts = String(source).split(/[\\/]/);
  const [name, version, file] = parts.slice(-3);
  if (name && version && /^\d+$/.test(version) && file) return `${name}:${version}`;
  return parts.at(-1) || 'device-model';
}
