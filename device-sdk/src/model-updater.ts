/**
 * Keeps a device on the model its edge serves (docs/device-sdk.md "Model updates"). The edge
 * announces its device model, retained, on `topics.deviceModel(edgeId)`: the device reads it on every
 * connect and whenever the edge publishes a new one. For a model other than its own it downloads the
 * file from the edge (`Authorization: Bearer <deviceId>:<token>`), checks its size and sha256, loads
 * it and swaps it in between requests. Anything that fails leaves the current model answering and is
 * told to the application (`modelError`); a successful swap is told too (`model`).
 *
 * A download that failed on the way (no answer, a broken body, a deadline, HTTP 5xx: `isTransientFailure`)
 * is tried again on its own, with exponential backoff and full jitter (`modelRetry`, default 1 s
 * doubling to 5 min; `RetryBackoff`), each failed try told with `retryInMs`. Another manifest drops
 * the pending retry; the same one again (a reconnect) tries at once; close() drops it too.
 *
 * In Node the file is downloaded resumably (`files`, model-download-node.ts): a download the link
 * broke keeps its bytes in `<modelDir>/model.onnx.partial` and the next try asks for the rest; a file
 * that came whole and checked is used again by the next try (one whose config failed). The manifest
 * of the model answering drops what is left there of others (`settle`). In browsers (no file system)
 * it is fetched whole into memory, as before.
 *
 * An HTTP 401, 403 or 404 from the edge is UNAUTHENTICATED, PERMISSION_DENIED or NOT_FOUND (any other
 * status UNAVAILABLE), with `details.httpStatus`; only the status codes of `isTransientFailure` retry.
 */
import {
  type BackoffOptions,
  type DeviceModelManifest,
  FoglineError,
  fromUnknown,
  httpRefusal,
  isTransientFailure,
  RetryBackoff,
  readDeviceModelManifest,
  topics,
} from '@fogline/shared';
import type { ResumableDownload } from '@fogline/shared/storage';
import type { DeviceSettings } from './device-options.ts';
import type { DevicePolicy } from './device-policy.ts';
import type { LoadedModel } from './model-slot.ts';

/** A loaded update, and the policy it starts with (the `policy` option, else its config's). */
export interface UpdatedModel extends LoadedModel {
  readonly policy: DevicePolicy;
}

export interface ModelEvent {
  /** `name:version` now answering, and the one it replaced. */
  readonly model: string;
  readonly previous: string;
  readonly sha256: string;
}

export interface ModelErrorEvent {
  /** `name:version` that could not be used (the manifest's, when it could be read). */
  readonly model: string | undefined;
  /** `name:version` that keeps answering. */
  readonly current: string;
  readonly error: FoglineError;
  /** Set when the download failed on the way and is tried again on its own in this many ms. */
  readonly retryInMs?: number;
}

export interface ModelUpdaterOptions {
  readonly settings: Pick<DeviceSettings, 'edgeId' | 'deviceId' | 'token'> & {
    /** Waits between tries of a download that failed on the way. Default RETRY_BACKOFF_DEFAULTS. */
    readonly modelRetry?: BackoffOptions;
  };
  /** `name:version` of the model answering now. */
  readonly current: () => string;
  /** Loads checked bytes (and the config text, if any) into a model ready to answer. */
  readonly load: (
    bytes: Uint8Array,
    config: { text: string; file: string } | undefined,
    ref: { readonly model: string; readonly version: number },
  ) => Promise<UpdatedModel>;
  /** Puts a loaded model in for the next request. */
  readonly swap: (loaded: UpdatedModel) => void;
  /** Where `model` and `modelError` go. */
  readonly events: {
    emit(event: 'model', e: ModelEvent): void;
    emit(event: 'modelError', e: ModelErrorEvent): void;
  };
  /** Per download (the model file: all its pieces in one try). Default 60 s. */
  readonly timeoutMs?: number;
  /** The platform's files of updates (Node: `modelDir`); absent: fetched whole, in memory. */
  readonly files?: ModelFiles;
}

/** The model file a manifest names: its length and sha256 (hex). */
export type WantedModelFile = Pick<DeviceModelManifest, 'bytes' | 'sha256'>;

/** Where model updates are downloaded: the platform's place (Node: model-download-node.ts). */
export interface ModelFiles {
  /**
   * The checked bytes of the download's file: the one kept from an earlier try when it has the
   * length and sha256, else downloaded resumably (all but `target`, which is the platform's).
   */
  fetch(download: Omit<ResumableDownload, 'target'>): Promise<Uint8Array>;
  /** The manifest of the model answering came: drops what is kept of any other file. */
  settle(wanted: WantedModelFile): Promise<void>;
}

const labelOf = (m: DeviceModelManifest) => `${m.model}:${m.version}`;
const keyOf = (m: DeviceModelManifest) => `${m.sha256} ${m.url}`;

export class ModelUpdater {
  readonly topic: string;
  readonly #o: ModelUpdaterOptions;
  /** sha256 + url of the last manifest handled (the retained one comes again on every reconnect). */
  #last: string | undefined;
  #running: Promise<void> | undefined;
  #pending: DeviceModelManifest | undefined;
  #closed = false;
  readonly #retry: RetryBackoff;
  /** keyOf the manifest `#retry` counts the tries of. */
  #retryKey: string | undefined;

  constructor(options: ModelUpdaterOptions) {
    this.#o = options;
    this.topic = topics.deviceModel(options.settings.edgeId);
    this.#retry = new RetryBackoff(options.settings.modelRetry);
  }

  /** One message of the manifest topic; never throws. */
  receive(payload: Uint8Array): void {
    if (this.#closed) return;
    const reading = readDeviceModelManifest(payload, this.#o.settings.edgeId);
    if (!reading.ok) {
      this.#fail(
        undefined,
        new FoglineError('INVALID_ARG', `device model manifest refused: ${reading.reason}`),
      );
      return;
    }
    const { manifest } = reading;
    const key = keyOf(manifest);
    if (key !== this.#retryKey) this.#retry.reset(); // another manifest: the old one's retry is off
    if (key === this.#last) return;
    this.#retry.cancel(); // the same one again (a reconnect): now
    this.#last = key;
    this.#pending = manifest;
    this.#running ??= this.#drain();
  }

  /** Resolves once no update is running (tests, close). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  close(): void {
    this.#closed = true;
    this.#pending = undefined;
    this.#retry.reset();
  }

  async #drain(): Promise<void> {
    try {
      for (let m = this.#pending; m !== undefined && !this.#closed; m = this.#pending) {
        this.#pending = undefined;
        await this.#update(m);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #update(manifest: DeviceModelManifest): Promise<void> {
    const label = labelOf(manifest);
    if (label === this.#o.current()) {
      // Answering already (a newer manifest may have been waiting): nothing to download, and the
      // partials and files of other versions are of no more use.
      await this.#o.files?.settle(manifest).catch(() => {});
      return;
    }
    let loaded: UpdatedModel;
    try {
      const bytes = await this.#modelFile(manifest);
      const config =
        manifest.config_url === undefined
          ? undefined
          : {
              text: new TextDecoder().decode(await this.#download(manifest.config_url, 1024 * 1024)),
              file: manifest.config_url,
            };
      loaded = await this.#o.load(bytes, config, manifest);
    } catch (err) {
      const error = fromUnknown(err);
      // A failure on the way is retried without a manifest; see triedOnReconnect for the others.
      if (triedOnReconnect(error)) this.#last = undefined;
      const retry = isTransientFailure(error) && this.#pending === undefined && !this.#closed;
      this.#fail(label, error, retry ? this.#retryLater(manifest) : undefined);
      return;
    }
    this.#retry.reset();
    if (this.#closed) {
      await loaded.runtime.close().catch(() => {});
      return;
    }
    const previous = this.#o.current();
    this.#o.swap(loaded);
    this.#o.events.emit('model', { model: loaded.modelVersion, previous, sha256: manifest.sha256 });
  }

  /** The manifest's file with its byte count and sha256 checked. */
  async #modelFile(manifest: DeviceModelManifest): Promise<Uint8Array> {
    const { url, bytes: size, sha256 } = manifest;
    const label = labelOf(manifest);
    const words = {
      refused: (status: number) => refusal(url, status),
      broken: (cause: unknown) => unreachable(url, cause),
      tooLarge: () => `${url}: more than the ${size} bytes announced`,
      declaredTooLarge: (total: number) => `${url}: ${total} bytes, more than the ${size} announced`,
      length: (got: number) => `${label}: got ${got} bytes, expected ${size}`,
      sha256: (got: string) => `${label}: sha256 ${got} is not the manifest's ${sha256}`,
    };
    if (this.#o.files) {
      const signal = AbortSignal.timeout(this.#o.timeoutMs ?? 60_000);
      return this.#o.files.fetch({
        bytes: size,
        sha256,
        words,
        open: async (headers) => {
          const response = await this.#get(url, signal, headers);
          return {
            status: response.status,
            header: (name) => response.headers.get(name) ?? undefined,
            body: (response.body ?? new ReadableStream()) as unknown as AsyncIterable<Uint8Array>,
            cancel: () => void response.body?.cancel().catch(() => {}),
          };
        },
      });
    }
    const bytes = await this.#download(url, size);
    if (bytes.byteLength !== size) throw new FoglineError('INVALID_ARG', words.length(bytes.byteLength));
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new FoglineError('INVALID_ARG', words.sha256(got));
    return bytes;
  }

  /** The answer's head, whatever its status; UNAVAILABLE when none comes. */
  async #get(url: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    const { deviceId, token } = this.#o.settings;
    try {
      return await fetch(url, {
        headers: { ...headers, ...(token !== undefined && { authorization: `Bearer ${deviceId}:${token}` }) },
        signal,
      });
    } catch (cause) {
      throw unreachable(url, cause);
    }
  }

  async #download(url: string, maxBytes: number): Promise<Uint8Array> {
    const response = await this.#get(url, AbortSignal.timeout(this.#o.timeoutMs ?? 60_000));
    if (!response.ok) throw refusal(url, response.status);
    const length = Number(response.headers.get('content-length'));
    if (length > maxBytes) {
      await response.body?.cancel();
      throw new FoglineError('INVALID_ARG', `${url}: ${length} bytes, more than the ${maxBytes} announced`);
    }
    return readAtMost(response, maxBytes, url);
  }

  /** Tries `manifest` again after the next wait; returns the wait, ms. */
  #retryLater(manifest: DeviceModelManifest): number {
    const key = keyOf(manifest);
    if (key !== this.#retryKey) this.#retry.reset();
    this.#retryKey = key;
    return this.#retry.schedule(() => {
      if (this.#closed || labelOf(manifest) === this.#o.current()) return;
      this.#last = key;
      this.#pending = manifest;
      this.#running ??= this.#drain();
    });
  }

  #fail(model: string | undefined, error: FoglineError, retryInMs?: number): void {
    const current = this.#o.current();
    this.#o.events.emit('modelError', {
      model,
      current,
      error,
      ...(retryInMs !== undefined && { retryInMs }),
    });
  }
}

function unreachable(url: string, cause: unknown): FoglineError {
  return new FoglineError('UNAVAILABLE', `cannot fetch ${url}: ${String(cause)}`, { cause });
}

/** An HTTP status of the edge's listener other than the file (docs/device-sdk.md "Model updates"). */
function refusal(url: string, status: number): FoglineError {
  // 401, 403, 404 say what they are; any other status is UNAVAILABLE (5xx, 408, 429 retried).
  return httpRefusal(status, `${url}: HTTP ${status}`);
}

/**
 * Whether the next reconnect's retained manifest tries again: the edge or the network was down
 * (UNAVAILABLE), or the edge did not serve the file then (403, 404; it may by the next connect).
 */
function triedOnReconnect(error: FoglineError): boolean {
  const status = error.details?.httpStatus;
  return error.code === 'UNAVAILABLE' || status === 403 || status === 404;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The body, refused as soon as it runs past `maxBytes` (a server without Content-Length included). */
async function readAtMost(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new FoglineError('INVALID_ARG', `${url}: more than the ${maxBytes} bytes announced`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
