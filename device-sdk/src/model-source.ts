/**
 * Where the device model and its config come from, by URL (fetch: browsers, http servers).
 * `models/<name>/<version>/model.onnx` sits in a version directory below `models/<name>/config.json`
 * (model repository layout, docs/model-repository.md); a model outside that layout has no config.
 */
import { FoglineError, type ModelConfig, parseModelConfig } from '@fogline/shared';

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

/** `<name>`, `<version>` and the file of a model in the repository layout; undefined outside it. */
export function repositoryPlaceOf(source: string | URL): { name: string; version: string } | undefined {
  const parts = String(source).split(/[?#]/)[0]!.split(/[\\/]/);
  const [name, version, file] = parts.slice(-3);
  return name && version && /^\d+$/.test(version) && file ? { name, version } : undefined;
}

/** "digits-tiny:1" for `.../digits-tiny/1/model.onnx`; else the file name. */
export function modelVersionOf(source: string | URL): string {
  const place = repositoryPlaceOf(source);
  if (place) return `${place.name}:${place.version}`;
  return String(source).split(/[\\/]/).at(-1) || 'device-model';
}

/**
 * A config.json's text, validated by the core's `parseModelConfig`: a config that is there but
 * wrong is an INVALID_ARG naming the file and the field, never silently ignored.
 */
export function configFromText(text: string, file: string, modelName: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${file}: not valid JSON (${(cause as Error).message})`, {
      cause,
      details: { file },
    });
  }
  return parseModelConfig(raw, file, modelName);
}

/** A model's config and where it came from (a file, a URL, or the `config` option), for messages. */
export interface LocatedConfig {
  readonly config: ModelConfig;
  readonly file: string;
}

/** The config.json of the model at `modelUrl`, when one is served there. */
export async function fetchConfigNextTo(modelUrl: string | URL): Promise<LocatedConfig | undefined> {
  const place = repositoryPlaceOf(modelUrl);
  if (place === undefined) return undefined;
  // `<name>/<version>/model.onnx` → `<name>/config.json`
  const url = new URL('../config.json', modelUrl);
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    return undefined;
  }
  if (!response.ok) return undefined;
  const file = String(url);
  return { config: configFromText(await response.text(), file, place.name), file };
}
