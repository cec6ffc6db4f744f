/**
 * The device model this edge serves its devices (issue 13 item 5, docs/edge-agent.md "Device
 * models"). When a desired state's deployment names a `device` model file, the edge fetches it from
 * the cloud's model store (device-model-fetch.ts: size and sha256 checked, a broken download resumed
 * on the next try), keeps it in
 * `<dataDir>/device-models/`, serves it on its device file listener and announces it, retained, on
 * `topics.deviceModel(edgeId)` (device-model-manifest.ts). A failure keeps the model announced
 * before and is kept in `status()`; a restarted edge announces what it served, after checking the
 * file again. A download that failed on the way (no answer, a broken body, a deadline, HTTP 5xx:
 * `isTransientFailure`) is tried again on its own with exponential backoff and full jitter
 * (`retry`, default 1 s doubling to 5 min), one log line and one count in `status().retries` per
 * failed try; another desired state drops the pending retry, and so does close().
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BackoffOptions,
  type DeviceModelManifest,
  encodeDeviceModelManifest,
  FoglineError,
  fromUnknown,
  isTransientFailure,
  type ModelFile,
  RetryBackoff,
  readDeploymentDirective,
  readModelFile,
} from '@fogline/shared';
import { mkdirPrivate, writePrivateFile } from '@fogline/shared/storage';
import type { AgentLogger } from '../agent-options.ts';
import type { ServedDeviceModel } from './device-file-server.ts';
import { fetchDeviceModel, type StoreAccess } from './device-model-fetch.ts';

export interface DeviceModelServiceOptions {
  readonly edgeId: string;
  readonly dataDir: string;
  /** The cloud's model store; undefined for an edge without a cloud URL (nothing to fetch from). */
  readonly store: StoreAccess | undefined;
  /** Publishes the manifest, retained, on the edge's broker. */
  readonly publish: (payload: Uint8Array) => Promise<void>;
  /** Base URL of the device file listener; undefined when it is off (devices could not fetch). */
  readonly baseUrl: () => string | undefined;
  readonly logger: AgentLogger;
  /** Waits between tries of a download that failed on the way. Default RETRY_BACKOFF_DEFAULTS. */
  readonly retry?: BackoffOptions;
}

export interface DeviceModelStatus {
  /** The device model announced to devices. */
  readonly current?: ModelFile;
  /** The last device model that could not be served, and why (cleared by the next success). */
  readonly failure?: {
    readonly file: ModelFile;
    readonly message: string;
    /** Set while a retry of it waits for its time: that wait, ms, from the failure. */
    readonly retryInMs?: number;
    /** Set while it is being tried again (its retry, or the same file asked for again). */
    readonly retrying?: true;
  };
  /** Failed tries retried on their own since the edge started (absent: none). */
  readonly retries?: number;
}

interface Held extends ServedDeviceModel {
  readonly file: ModelFile;
}

const DIR = 'device-models';
const CURRENT = 'current.json';
const keyOf = (f: ModelFile) => `${f.model}@${f.version} ${f.sha256}`;

export class DeviceModelService {
  readonly #o: DeviceModelServiceOptions;
  readonly #dir: string;
  #held: Held | undefined;
  #failure: DeviceModelStatus['failure'];
  #queue: Promise<unknown> = Promise.resolve();
  readonly #retry: RetryBackoff;
  /** keyOf the file last asked for (apply); `#retry` counts its tries. */
  #latest: string | undefined;
  #retries = 0;
  #closed = false;

  constructor(options: DeviceModelServiceOptions) {
    this.#o = options;
    this.#dir = join(options.dataDir, DIR);
    this.#retry = new RetryBackoff(options.retry);
  }

  status(): DeviceModelStatus {
    return {
      ...(this.#held && { current: this.#held.file }),
      ...(this.#failure && { failure: this.#failure }),
      ...(this.#retries > 0 && { retries: this.#retries }),
    };
  }

  /** Drops the pending retry and schedules none after (the agent stops). */
  close(): void {
    this.#closed = true;
    this.#retry.reset();
  }

  /** What the file listener serves. */
  served(): ServedDeviceModel | undefined {
    return this.#held;
  }

  /** The model served before a restart, if its files are intact; announces it. Never throws. */
  async restore(): Promise<void> {
    try {
      const reading = readModelFile(JSON.parse(await readFile(join(this.#dir, CURRENT), 'utf8')));
      if (!reading.ok) throw new FoglineError('INTERNAL', `${join(this.#dir, CURRENT)}: ${reading.reason}`);
      const file = reading.value;
      const dir = this.#versionDir(file);
      const bytes = await readFile(join(dir, 'model.onnx'));
      if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
        throw new FoglineError('INTERNAL', `${join(dir, 'model.onnx')} no longer has its sha256`);
      }
      const config = await stat(join(dir, 'config.json')).then(
        () => true,
        () => false,
      );
      this.#held = this.#heldOf(file, config);
      await this.#announce();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#o.logger.warn(`device model: not restored: ${fromUnknown(err).message}`);
      }
    }
  }

  /** A desired state's `deployment` block (as received): its `device` file, if any, is applied. */
  async receive(raw: unknown): Promise<void> {
    const reading = readDeploymentDirective(raw);
    if (reading.ok && reading.value.device) await this.apply(reading.value.device).catch(() => {});
  }

  /**
   * Fetches, stores and announces `file`, one at a time; resolves with the status, rejects with the
   * reason it is not served (the previous model stays announced).
   */
  apply(file: ModelFile): Promise<DeviceModelStatus> {
    // A newer file drops the retry of the one before; the same one again is tried now.
    if (keyOf(file) !== this.#latest) this.#retry.reset();
    else this.#retry.cancel();
    this.#latest = keyOf(file);
    // No retry waits any more: the failed file is tried now (after any try under way), or never.
    const f = this.#failure;
    if (f) {
      const { file: failed, message } = f;
      this.#failure =
        keyOf(failed) === this.#latest
          ? { file: failed, message, retrying: true }
          : { file: failed, message };
    }
    const run = this.#queue.then(() => this.#apply(file));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(file: ModelFile): Promise<DeviceModelStatus> {
    const held = this.#held?.file;
    const label = `${file.model}@${file.version}`;
    if (held && held.model === file.model && held.version === file.version && held.sha256 === file.sha256) {
      return this.status();
    }
    let fetching = false;
    try {
      // `serveDeviceModel` takes a file from its caller: the desired state's reader's rule (names.ts).
      const checked = readModelFile(file);
      if (!checked.ok) throw new FoglineError('INVALID_ARG', `device model ${label}: ${checked.reason}`);
      const { store } = this.#o;
      if (store === undefined)
        throw new FoglineError('UNAVAILABLE', 'this edge has no cloud URL to fetch it from');
      if (this.#o.baseUrl() === undefined) {
        throw new FoglineError(
          'UNAVAILABLE',
          'the device file listener is off (deviceFiles, --device-files-port)',
        );
      }
      const dir = this.#versionDir(file);
      await mkdirPrivate(dir);
      // Downloaded beside its place (model.onnx.partial) and renamed into it once checked.
      fetching = true;
      const fetched = await fetchDeviceModel(store, file, join(dir, 'model.onnx'));
      fetching = false;
      if (fetched.config !== undefined) await writePrivateFile(join(dir, 'config.json'), fetched.config);
      await writePrivateFile(join(this.#dir, CURRENT), JSON.stringify(file));
      this.#held = this.#heldOf(file, fetched.config !== undefined);
      this.#failure = undefined;
      this.#retry.reset();
      await this.#announce();
      this.#o.logger.info(`device model: serving ${label} to devices (${file.bytes} bytes)`);
      return this.status();
    } catch (err) {
      const error = fromUnknown(err);
      const retry = fetching && isTransientFailure(error) && this.#latest === keyOf(file) && !this.#closed;
      const retryInMs = retry ? this.#retryLater(file) : undefined;
      this.#failure = { file, message: error.message, ...(retryInMs !== undefined && { retryInMs }) };
      const keeping = held ? `; devices keep ${held.model}@${held.version}` : '';
      const again = retryInMs === undefined ? '' : `; retry ${this.#retry.attempt} in ${retryInMs} ms`;
      this.#o.logger.warn(`device model: ${label} not served: ${error.message}${keeping}${again}`);
      throw error;
    }
  }

  /** Applies `file` again after the next wait (unless something newer came); returns the wait, ms. */
  #retryLater(file: ModelFile): number {
    this.#retries++;
    return this.#retry.schedule(() => {
      if (!this.#closed && this.#latest === keyOf(file)) this.apply(file).catch(() => {});
    });
  }

  async #announce(): Promise<void> {
    const held = this.#held;
    const base = this.#o.baseUrl();
    if (!held || base === undefined) return;
    const path = `${base.replace(/\/$/, '')}/device-models/${encodeURIComponent(held.model)}/${held.version}`;
    const manifest: DeviceModelManifest = {
      edge: this.#o.edgeId,
      model: held.model,
      version: held.version,
      sha256: held.file.sha256,
      bytes: held.file.bytes,
      url: `${path}/model.onnx`,
      ...(held.configPath !== undefined && { config_url: `${path}/config.json` }),
    };
    await this.#o.publish(encodeDeviceModelManifest(manifest));
  }

  #heldOf(file: ModelFile, config: boolean): Held {
    const dir = this.#versionDir(file);
    return {
      file,
      model: file.model,
      version: file.version,
      path: join(dir, 'model.onnx'),
      ...(config && { configPath: join(dir, 'config.json') }),
    };
  }

  #versionDir(file: ModelFile): string {
    return join(this.#dir, file.model, String(file.version));
  }
}
