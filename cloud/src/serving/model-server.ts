/**
 * Model lifecycle over a Triton-like repository (models/<name>/config.json + <version>/model.onnx, or
 * a config.json whose `backend` names the OIP server that serves the model, remote/): which version
 * of each model serves, loading, zero-downtime reload and unloading.
 *
 * A (re)load builds and warms a new ModelInstance while the current one keeps serving, then swaps
 * the pointer in one step; the old instance finishes what it queued before it is retired. Requests
 * resolve their instance and submit to it synchronously, so none can land on a retired batcher.
 */

import { existsSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { FoglineError, fromUnknown, isLongModelName, LONG_MODEL_NAME_PATTERN } from '@fogline/shared';
import {
  type BackendResolver,
  loadModelEntry,
  type ModelEntry,
  modelDirNames,
  validateModelFile,
} from '@fogline/shared/model-repository';
import { ModelInstance } from './model-instance.ts';
import { backendResolver, loadRemoteInstance } from './remote/index.ts';
import { ResponseCache } from './response-cache.ts';
import { DEFAULT_INLINE_MAX_MS, type ServingOptions } from './serving-options.ts';
import { applyConfigOverride } from './triton-config-override.ts';

/** Triton repository index states. */
export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason?: string;
}

interface Slot {
  name: string;
  entry?: ModelEntry;
  current?: ModelInstance;
  state: ModelState;
  reason?: string;
  /** Serialises load/unload of this model. */
  chain: Promise<void>;
}

export interface ModelLifecycleListener {
  onInstanceReady?(instance: ModelInstance): void;
  onInstanceRetired?(instance: ModelInstance): void;
}

export class ModelServer {
  private readonly slots = new Map<string, Slot>();
  private started = false;
  private closed = false;
  private readonly retiring = new Set<Promise<void>>();
  /** Completes the config of a model served elsewhere from its remote (remote/remote-metadata.ts). */
  private readonly resolveBackend: BackendResolver;

  /**
   * `responseCache`: the server's response cache, used by the versions whose config enables it
   * (default: none). A version's entries go when it is unloaded or replaced by a load.
   */
  constructor(
    readonly repositoryDir: string,
    private readonly options: ServingOptions = {},
    private readonly listener: ModelLifecycleListener = {},
    readonly responseCache: ResponseCache = new ResponseCache(0),
  ) {
    this.resolveBackend = backendResolver(options.remote?.env ?? process.env);
  }

  /**
   * Loads every model in the repository (Triton's default model control mode). A model that fails
   * to load is reported by `index()` with its reason; the others serve. NOT_FOUND if the repository
   * directory cannot be read.
   */
  async loadAll(): Promise<void> {
    const names = await listModelNames(this.repositoryDir);
    await Promise.all(names.map((name) => this.load(name).catch(() => {})));
    this.started = true;
  }

  /** Server readiness: the first load pass is over and no model is loading without a serving version. */
  get ready(): boolean {
    if (!this.started || this.closed) return false;
    for (const slot of this.slots.values()) if (slot.state === 'LOADING' && !slot.current) return false;
    return true;
  }

  /**
   * Rereads the model's config and versions, loads the latest version, swaps it in, then retires the
   * previous instance in the background. Throws (and keeps the current version serving) on failure.
   * `override` is a load request's config (Triton's `load_model(config=...)`), applied over
   * config.json by `applyConfigOverride` and refused with INVALID_ARG when it cannot be honoured;
   * it holds until the next load without one. Error messages name paths relative to the repository.
   */
  load(name: string, override?: unknown): Promise<ModelInstance> {
    try {
      checkModelName(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const slot = this.slot(name);
    const run = async (): Promise<ModelInstance> => {
      this.assertOpen();
      slot.state = 'LOADING';
      try {
        let entry = await loadModelEntry(this.repositoryDir, name, this.resolveBackend);
        let options = this.options;
        if (override !== undefined) {
          const applied = applyConfigOverride(entry.config, override, name);
          entry = { ...entry, config: applied.config };
          options = { ...options, ...applied.serving };
          if (applied.changesTensors) {
            await validateModelFile(entry).catch((err: unknown) => {
              const e = fromUnknown(err);
              throw new FoglineError(e.code, `load config of model "${name}" (tensors): ${e.message}`, {
                cause: e,
              });
            });
          }
        }
        const fresh = entry.config.backend
          ? loadRemoteInstance(entry, options, options.remote)
          : await ModelInstance.load(entry, entry.latestVersion, {
              ...options,
              inlineMaxMs: options.inlineMaxMs ?? DEFAULT_INLINE_MAX_MS,
            });
        fresh.useResponseCache(this.responseCache);
        if (this.closed) {
          await fresh.retire();
          throw new FoglineError('UNAVAILABLE', 'server is shutting down');
        }
        const previous = slot.current;
        slot.entry = entry;
        slot.current = fresh;
        slot.state = 'READY';
        delete slot.reason;
        this.listener.onInstanceReady?.(fresh);
        if (previous) this.retire(previous);
        return fresh;
      } catch (err) {
        let e = this.withoutPaths(fromUnknown(err));
        if (e.code === 'NOT_FOUND' && !existsSync(join(this.repositoryDir, name, 'config.json'))) {
          e = new FoglineError(
            'NOT_FOUND',
            `unknown model "${name}": the model repository has no ${name}/config.json`,
            { cause: e },
          );
        }
        slot.state = slot.current ? 'READY' : 'UNAVAILABLE';
        slot.reason = e.message;
        // A name with no model directory at all is not a model: forget it again.
        if (!slot.entry && e.code === 'NOT_FOUND') this.slots.delete(name);
        throw e;
      }
    };
    const result = slot.chain.then(run, run);
    slot.chain = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /** Stops serving the model; its queued requests still complete. NOT_FOUND if it is unknown. */
  unload(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return Promise.reject(new FoglineError('NOT_FOUND', `unknown model "${name}"`));
    const run = async (): Promise<void> => {
      const previous = slot.current;
      delete slot.current;
      slot.state = 'UNLOADING';
      if (previous) await this.retire(previous);
      slot.state = 'UNAVAILABLE';
      slot.reason = 'unloaded';
    };
    const result = slot.chain.then(run, run);
    slot.chain = result.catch(() => {});
    return result;
  }

  /** Repository index: every model directory on disk plus every model known here, with its state. */
  async index(): Promise<ModelIndexEntry[]> {
    const onDisk = await listModelNames(this.repositoryDir).catch(() => []);
    const names = new Set([...onDisk, ...this.slots.keys()]);
    return [...names].sort().map((name) => {
      const slot = this.slots.get(name);
      if (!slot) return { name, state: 'UNAVAILABLE', reason: 'not loaded' };
      const entry: ModelIndexEntry = { name, state: slot.state };
      if (slot.current) entry.version = String(slot.current.version);
      if (slot.reason !== undefined && slot.state !== 'READY') entry.reason = slot.reason;
      return entry;
    });
  }

  /**
   * The instance serving `name` (and `version`, when given). NOT_FOUND for an unknown model or a
   * version that is not loaded; UNAVAILABLE for a known model with no serving version.
   */
  resolve(name: string, version?: number): ModelInstance {
    const slot = this.slots.get(name);
    if (!slot) throw new FoglineError('NOT_FOUND', `unknown model "${name}"`);
    const current = slot.current;
    if (!current) {
      const why = slot.state === 'LOADING' ? 'is loading' : `is not loaded (${slot.reason ?? slot.state})`;
      throw new FoglineError('UNAVAILABLE', `model "${name}" ${why}`);
    }
    if (version !== undefined && version !== current.version) {
      throw new FoglineError(
        'NOT_FOUND',
        `model "${name}" has no version ${version} loaded (serving ${current.version})`,
      );
    }
    return current;
  }

  /** Serving instances, for statistics and metrics. */
  instances(): ModelInstance[] {
    const out: ModelInstance[] = [];
    for (const slot of this.slots.values()) if (slot.current) out.push(slot.current);
    return out;
  }

  /** Refuses new loads, lets every instance finish its queue, frees all workers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map((s) => s.chain));
    const current = this.instances();
    for (const slot of this.slots.values()) delete slot.current;
    await Promise.all([...current.map((i) => this.retire(i)), ...this.retiring]);
  }

  private slot(name: string): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = { name, state: 'UNAVAILABLE', chain: Promise.resolve() };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private retire(instance: ModelInstance): Promise<void> {
    const done = instance
      .retire()
      .catch(() => {})
      .finally(() => {
        this.retiring.delete(done);
        this.listener.onInstanceRetired?.(instance);
      });
    this.retiring.add(done);
    return done;
  }

  /**
   * The error with the repository's location taken out of its message (`<repo>/m/config.json` reads
   * `m/config.json`): load errors reach HTTP clients, who have no business knowing server paths.
   */
  private withoutPaths(e: FoglineError): FoglineError {
    const message = withoutRepositoryPaths(e.message, this.repositoryDir);
    return message === e.message ? e : new FoglineError(e.code, message, { cause: e });
  }

  private assertOpen(): void {
    if (this.closed) throw new FoglineError('UNAVAILABLE', 'server is shutting down');
  }
}

/**
 * `message` without the repository's location: `<repo>/m/config.json` reads `m/config.json`, `<repo>`
 * alone "the model repository". Only the forms the server prints it in (as given, normalised, and
 * absolute), and only where it stands as a path: at the start or after a space, an opening bracket
 * or a quote, and before a separator; alone (a form with a separator in it), unquoted and before the
 * end, a space or punctuation. So a repository named `models` leaves the
 * word "models" (and `v2/models/...`) alone. One pass, so what is left is never stripped again.
 */
export function withoutRepositoryPaths(message: string, repositoryDir: string): string {
  const trimmed = (p: string) => normalize(p).replace(/[\\/]+$/, '');
  const forms = [...new Set([trimmed(resolve(repositoryDir)), trimmed(repositoryDir)])]
    .filter((form) => form !== '' && form !== '.')
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return message;
  const either = (list: string[]) =>
    `(?:${list.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
  // A path inside it (quoted too, as node and onnxruntime quote file names).
  let pattern = `(?<=^|[\\s(\\[='"\`])${either(forms)}[\\\\/]`;
  // The root alone, unquoted; a one-word relative root (\`models\`) alone is a word, never touched.
  const paths = forms.filter((form) => /[\\/]/.test(form));
  if (paths.length > 0) pattern += `|(?<=^|[\\s(\\[=])${either(paths)}(?=$|[\\s:;,)\\]]|\\.(?!\\w))`;
  return message.replace(new RegExp(pattern, 'g'), (match) =>
    /[\\/]$/.test(match) ? '' : 'the model repository',
  );
}

/** The repository's model directories (modelDirNames) whose names the server can serve. */
async function listModelNames(dir: string): Promise<string[]> {
  return (await modelDirNames(dir)).filter(isLongModelName);
}

/**
 * Model names become directory names: refuse anything that could leave the repository. The long
 * model name rule (core/names.ts), wider than the name rule, so that a directory named past its 64
 * characters is listed and its load fails with the name rule's reason (the loader checks it).
 */
export function checkModelName(name: string): void {
  if (!LONG_MODEL_NAME_PATTERN.test(name)) {
    throw new FoglineError('NOT_FOUND', `unknown model ${JSON.stringify(name.slice(0, 130))}`);
  }
}
