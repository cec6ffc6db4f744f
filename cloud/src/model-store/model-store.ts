/**
 * The cloud's model store (docs/operations.md "Model store"): pushed model versions, checked, kept
 * content-addressed in the data dir and recorded in `model_versions` (status `staged` until a
 * deployment uses them). Layout, dirs 0700 and files 0600:
 *
 *   <dataDir>/store/sha256/<hex>                 the ONNX bytes, named by their SHA-256
 *   <dataDir>/store/configs/<name>/<version>.json the config.json the version was pushed with
 *   <dataDir>/store/incoming/<random>            an upload being received (removed whatever happens)
 *
 * A push streams the body to `incoming/` while hashing and counting it (past `maxModelBytes`: 413,
 * nothing kept), then, one push per model at a time: the same name@version with the same bytes is
 * idempotent (so is a push without a version whose bytes and config the newest version has), other
 * bytes are 409; else check-upload.ts decides, and only a model that passed is
 * moved into place, its config written, and its row inserted (first push wins between replicas).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FoglineError, type ModelConfig, parseModelConfig } from '@fogline/shared';
import { diskFullError } from '@fogline/shared/storage';
import type { ModelVersionRecord, ModelVersionRepository } from '../store/index.ts';
import { checkName, checkVersion } from '../store/validation.ts';
import { checkUpload } from './check-upload.ts';

/** Default upper bound of one pushed model file (`fogline cloud --max-model-bytes`). */
export const DEFAULT_MAX_MODEL_BYTES = 512 * 1024 * 1024;

export interface ModelPush {
  readonly name: string;
  /** Omitted: the next free version of `name`. */
  readonly version?: number;
  /** The parsed-JSON config.json; omitted: the config of the model's newest stored version. */
  readonly config?: unknown;
  /** The ONNX bytes as they arrive. */
  readonly body: Readable;
}

export interface PushResult {
  readonly record: ModelVersionRecord;
  /** false: this name@version already held these bytes (an idempotent retry). */
  readonly created: boolean;
}

export interface StoredModelFile {
  readonly record: ModelVersionRecord;
  readonly path: string;
  readonly bytes: number;
}

export class ModelStore {
  private readonly root: string;
  /** One push per model at a time in this process (the version choice and the 409 check). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    dataDir: string,
    private readonly versions: ModelVersionRepository,
    readonly maxModelBytes: number = DEFAULT_MAX_MODEL_BYTES,
  ) {
    this.root = join(dataDir, 'store');
  }

  async push(push: ModelPush): Promise<PushResult> {
    const name = checkName('model name', push.name);
    const version = push.version === undefined ? undefined : checkVersion(push.version);
    const config =
      push.config === undefined ? undefined : parseModelConfig(push.config, `config of ${name}`, name);
    const incoming = await this.receive(push.body);
    try {
      return await this.locked(name, () => this.admit(name, version, config, incoming));
    } finally {
      await rm(incoming.path, { force: true });
    }
  }

  /** The versions of `name` (every model when omitted), oldest first. */
  list(name?: string): Promise<ModelVersionRecord[]> {
    return this.versions.list(name);
  }

  /** A stored version's file, for download; NOT_FOUND when the version or its bytes are missing. */
  async file(name: string, version: number): Promise<StoredModelFile> {
    const record = await this.versions.get(name, version);
    const path = this.blobPath(record.sha256);
    try {
      return { record, path, bytes: (await stat(path)).size };
    } catch (cause) {
      throw new FoglineError('NOT_FOUND', `the file of ${name}@${version} is not in this cloud's store`, {
        cause,
      });
    }
  }

  /** The config.json a stored version was pushed with. */
  async config(name: string, version: number): Promise<ModelConfig> {
    await this.versions.get(name, version);
    const file = this.configPath(name, version);
    return parseModelConfig(JSON.parse(await readFile(file, 'utf8')), file, name);
  }

  private async admit(
    name: string,
    asked: number | undefined,
    given: ModelConfig | undefined,
    incoming: Incoming,
  ): Promise<PushResult> {
    const existing = await this.versions.list(name);
    const newest = existing.at(-1);
    const same = asked === undefined ? undefined : existing.find((r) => r.version === asked);
    if (same) return this.samePush(same, incoming);
    const version = asked ?? (newest?.version ?? 0) + 1;
    const previous = newest && { version: newest.version, config: await this.config(name, newest.version) };
    // A retried push without a version: the newest version already holds these bytes and this config.
    const sameConfig = given === undefined || JSON.stringify(given) === JSON.stringify(previous?.config);
    if (asked === undefined && newest?.sha256 === incoming.sha256 && sameConfig) {
      return { record: newest, created: false };
    }
    const config = given ?? previous?.config;
    if (!config) {
      throw new FoglineError(
        'INVALID_ARG',
        `model upload ${name}@${version}: no config given, and ${name} has no stored version to take it from`,
      );
    }
    await checkUpload({
      name,
      version,
      config,
      path: incoming.path,
      ...(previous && { previous }),
    });
    await this.keep(incoming, name, version, config);
    const { record, inserted } = await this.versions.insertIfAbsent({
      model: name,
      version,
      tier: config.tier,
      sha256: incoming.sha256,
      bytes: incoming.bytes,
      status: 'staged',
    });
    if (!inserted) return this.samePush(record, incoming);
    return { record, created: true };
  }

  private samePush(record: ModelVersionRecord, incoming: Incoming): PushResult {
    if (record.sha256 === incoming.sha256) return { record, created: false };
    throw new FoglineError(
      'ALREADY_EXISTS',
      `${record.model}@${record.version} exists with other bytes (sha256 ${record.sha256}, this upload ${incoming.sha256}); push it as a new version`,
      { details: { model: record.model, version: record.version, sha256: record.sha256 } },
    );
  }

  private async keep(incoming: Incoming, name: string, version: number, config: ModelConfig): Promise<void> {
    await mkdir(join(this.root, 'sha256'), { recursive: true, mode: 0o700 });
    await rename(incoming.path, this.blobPath(incoming.sha256));
    const configFile = this.configPath(name, version);
    await mkdir(join(this.root, 'configs', name), { recursive: true, mode: 0o700 });
    const scratch = `${configFile}.${randomUUID()}.tmp`;
    await writeFile(scratch, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await rename(scratch, configFile);
  }

  /** Streams the body to `incoming/` with its SHA-256 and size; 413 past the limit, nothing kept. */
  private async receive(body: Readable): Promise<Incoming> {
    const dir = join(this.root, 'incoming');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, randomUUID());
    const hash = createHash('sha256');
    let bytes = 0;
    const limit = this.maxModelBytes;
    // Piped through, not given to pipeline: a refused upload leaves the request (and its socket) to
    // the HTTP server, which answers the error, instead of destroying it.
    const source = new PassThrough();
    body.once('error', (err) => source.destroy(err));
    body.pipe(source);
    try {
      await pipeline(
        source,
        async function* count(chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            bytes += chunk.length;
            if (bytes > limit) throw modelTooLarge(bytes, limit);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(path, { mode: 0o600 }),
      );
    } catch (err) {
      body.unpipe(source);
      body.pause();
      await rm(path, { force: true });
      if (err instanceof FoglineError) throw err;
      // The cloud's own disk, not the client's upload: 503, and the operator is told which disk.
      const tail = ' while receiving a model upload; nothing was stored; free space on it and push again';
      throw (
        diskFullError(err, dir, tail) ??
        new FoglineError('INVALID_ARG', `model upload could not be read: ${(err as Error).message}`, {
          cause: err,
        })
      );
    }
    if (bytes === 0) {
      await rm(path, { force: true });
      throw new FoglineError('INVALID_ARG', 'model upload is empty: send the ONNX file as the body');
    }
    return { path, sha256: hash.digest('hex'), bytes };
  }

  private async locked<T>(name: string, run: () => Promise<T>): Promise<T> {
    const before = this.locks.get(name) ?? Promise.resolve();
    const mine = before.then(run, run);
    const settled = mine.catch(() => undefined);
    this.locks.set(name, settled);
    try {
      return await mine;
    } finally {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    }
  }

  private blobPath(sha256: string): string {
    return join(this.root, 'sha256', sha256);
  }

  private configPath(name: string, version: number): string {
    return join(this.root, 'configs', name, `${version}.json`);
  }
}

interface Incoming {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export function modelTooLarge(size: number, maxBytes: number): FoglineError {
  return new FoglineError(
    'PAYLOAD_TOO_LARGE',
    `model upload of ${size} bytes or more exceeds the store's limit of ${maxBytes} bytes (fogline cloud --max-model-bytes)`,
    { details: { maxBytes } },
  );
}
