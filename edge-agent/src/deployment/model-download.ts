/**
 * Downloads one model file of the cloud's model store to `<file>.part` (docs/edge-agent.md
 * "Deployments"): never more than the deployment's `bytes` (a longer file is refused as `size`, as is
 * a complete file that is shorter), an idle timeout on every attempt, and after a dropped connection
 * or a 5xx the next attempt resumes where the last stopped (`Range: bytes=n-`, 206), after a bounded
 * exponential backoff. A `.part` left by a stopped edge is resumed the same way. Progress is reported
 * at most every PROGRESS_BYTES or PROGRESS_MS. The caller verifies the sha256 and renames the file.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { backoffCeilingMs, FoglineError, type ModelFile } from '@fogline/shared';
import { PRIVATE_FILE_MODE } from '@fogline/shared/storage';

export const PROGRESS_BYTES = 256 * 1024;
export const PROGRESS_MS = 1000;

export interface ModelFileSource {
  openModelFile(model: string, version: number, from: number, signal: AbortSignal): Promise<IncomingMessage>;
}

export interface DownloadSettings {
  /** An attempt with no byte for this long is abandoned (and retried), ms. */
  readonly idleTimeoutMs: number;
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Wait before the 2nd attempt, doubled for each next one (capped at 30 s), ms. */
  readonly backoffMs: number;
}

export const DOWNLOAD_DEFAULTS: DownloadSettings = Object.freeze({
  idleTimeoutMs: 30_000,
  attempts: 5,
  backoffMs: 1000,
});

/** Why a download ended without the file: `size` is final, `download` after the attempts ran out. */
export class DownloadFailure extends Error {
  constructor(
    readonly kind: 'download' | 'size',
    message: string,
  ) {
    super(message);
  }
}

export interface DownloadJob {
  readonly source: ModelFileSource;
  readonly file: ModelFile;
  /** Where the bytes go while they arrive (`<version dir>/model.onnx.part`). */
  readonly partPath: string;
  readonly settings: DownloadSettings;
  readonly onProgress: (receivedBytes: number) => void;
  /** Aborts the download (the agent stops). */
  readonly signal: AbortSignal;
}

/** Resolves once `partPath` holds `file.bytes` bytes; rejects with a DownloadFailure. */
export async function downloadModelFile(job: DownloadJob): Promise<void> {
  const { file, settings } = job;
  let received = await sizeOf(job.partPath);
  if (received > file.bytes) {
    await rm(job.partPath, { force: true });
    received = 0;
  }
  let lastError = '';
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    if (received === file.bytes) return;
    if (attempt > 1) {
      const waitMs = backoffCeilingMs(attempt - 2, {
        initialDelayMs: settings.backoffMs,
        maxDelayMs: 30_000,
      });
      await sleep(waitMs, job.signal);
    }
    try {
      received = await attemptOnce(job, received);
      if (received === file.bytes) return;
      lastError = `the connection ended at byte ${received} of ${file.bytes}`;
    } catch (err) {
      if (err instanceof DownloadFailure) throw err;
      if (job.signal.aborted) throw new DownloadFailure('download', 'stopped');
      lastError = err instanceof Error ? err.message : String(err);
      received = await sizeOf(job.partPath);
    }
  }
  throw new DownloadFailure(
    'download',
    `${file.model}@${file.version}: ${settings.attempts} attempt(s) failed, the last: ${lastError}`,
  );
}

/** One request from byte `from`; resolves with the bytes on disk when the body ended. */
async function attemptOnce(job: DownloadJob, from: number): Promise<number> {
  const { file, settings } = job;
  const abort = new AbortController();
  const stop = () => abort.abort();
  job.signal.addEventListener('abort', stop, { once: true });
  let idle = setTimeout(stop, settings.idleTimeoutMs);
  try {
    const res = await job.source.openModelFile(file.model, file.version, from, abort.signal);
    const status = res.statusCode ?? 0;
    if (status === 416 && from > 0) {
      // What is on disk is already longer than the cloud's file: start over.
      res.resume();
      await rm(job.partPath, { force: true });
      return 0;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      const message = `${file.model}@${file.version}: the cloud answered HTTP ${status}`;
      // 5xx and 429 may pass; anything else (401, 404, ...) will not.
      if (status >= 500 || status === 429) throw new Error(message);
      throw new DownloadFailure('download', message);
    }
    let offset = status === 206 ? from : 0;
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && offset + length > file.bytes) {
      res.resume();
      throw tooLong(file, offset + length);
    }
    const out = createWriteStream(job.partPath, { flags: offset === 0 ? 'w' : 'a', mode: PRIVATE_FILE_MODE });
    let reported = offset;
    let reportedAt = Date.now();
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        clearTimeout(idle);
        idle = setTimeout(stop, settings.idleTimeoutMs);
        if (offset + chunk.length > file.bytes) throw tooLong(file, offset + chunk.length);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        offset += chunk.length;
        if (offset - reported >= PROGRESS_BYTES || Date.now() - reportedAt >= PROGRESS_MS) {
          reported = offset;
          reportedAt = Date.now();
          job.onProgress(offset);
        }
      }
    } finally {
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    }
    job.onProgress(offset);
    if (
      offset < file.bytes &&
      (!Number.isFinite(length) || offset - (status === 206 ? from : 0) === length)
    ) {
      // The whole body arrived and is short: the file is not the one the deployment names.
      throw new DownloadFailure(
        'size',
        `${file.model}@${file.version}: the cloud's file has ${offset} bytes, the deployment says ${file.bytes}`,
      );
    }
    return offset;
  } finally {
    clearTimeout(idle);
    job.signal.removeEventListener('abort', stop);
  }
}

function tooLong(file: ModelFile, bytes: number): DownloadFailure {
  return new DownloadFailure(
    'size',
    `${file.model}@${file.version}: the download passed ${file.bytes} bytes (the deployment's size) at ${bytes}`,
  );
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new FoglineError('UNAVAILABLE', 'stopped'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new FoglineError('UNAVAILABLE', 'stopped'));
      },
      { once: true },
    );
  });
}
