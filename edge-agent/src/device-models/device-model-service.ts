/**
 * The device model this edge serves its devices (issue 13 item 5, docs/edge-agent.md "Device
 * models"). When a desired state's deployment names a `device` model file, the edge fetches it from
 * the cloud's model store (device-model-fetch.ts: size and sha256 checked, a broken download resumed
 * on the next try), keeps it in
 * `<dataDir>/device-models/`, serves it on its device file listener and announces it, retained, on
 * `topics.deviceModel(edgeId)` (device-model-manifest.ts). A failure keeps the model announced
 * before and is kept in `status()`; a restarted edge announces what it served, after checking the
 * file again.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DeviceModelManifest,
  encodeDeviceModelManifest,
  FoglineError,
  fromUnknown,
  type ModelFile,
  readDeploymentDirective,
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
}

export interface DeviceModelStatus {
  /** The device model announced to devices. */
  readonly current?: ModelFile;
  /** The last device model that could not be served, and why (cleared by the next success). */
  readonly failure?: { readonly file: ModelFile; readonly message: string };
}

interface Held extends ServedDeviceModel {
  readonly file: ModelFile;
}

const DIR = 'device-models';
const CURRENT = 'current.json';

export class DeviceModelService {
  readonly #o: DeviceModelServiceOptions;
  readonly #dir: string;
  #held: Held | undefined;
  #failure: DeviceModelStatus['failure'];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: DeviceModelServiceOptions) {
    this.#o = options;
    this.#dir = join(options.dataDir, DIR);
  }

  status(): DeviceModelStatus {
    return {
      ...(this.#held && { current: this.#held.file }),
      ...(this.#failure && { failure: this.#failure }),
    };
  }

  /** What the file listener serves. */
  served(): ServedDeviceModel | undefined {
    return this.#held;
  }

  /** The model served before a restart, if its files are intact; announces it. Never throws. */
  async restore(): Promise<void> {
    try {
      const reading = readDeploymentDirective({
        id: 'restored',
        ...JSON.parse(await readFile(join(this.#dir, CURRENT), 'utf8')),
      });
      if (!reading.ok) throw new FoglineError('INTERNAL', `${join(this.#dir, CURRENT)}: ${reading.reason}`);
      const { model, version, sha256, bytes: size } = reading.value;
      const file: ModelFile = { model, version, sha256, bytes: size };
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
    try {
      if (/^\.+$/.test(file.model))
        throw new FoglineError('INVALID_ARG', `"${file.model}" is not a model name`);
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
      const fetched = await fetchDeviceModel(store, file, join(dir, 'model.onnx'));
      if (fetched.config !== undefined) await writePrivateFile(join(dir, 'config.json'), fetched.config);
      await writePrivateFile(join(this.#dir, CURRENT), JSON.stringify(file));
      this.#held = this.#heldOf(file, fetched.config !== undefined);
      this.#failure = undefined;
      await this.#announce();
      this.#o.logger.info(`device model: serving ${label} to devices (${file.bytes} bytes)`);
      return this.status();
    } catch (err) {
      const error = fromUnknown(err);
      this.#failure = { file, message: error.message };
      const keeping = held ? `; devices keep ${held.model}@${held.version}` : '';
      this.#o.logger.warn(`device model: ${label} not served: ${error.message}${keeping}`);
      throw error;
    }
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
