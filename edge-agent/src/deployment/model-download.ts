/**
 * Downloads one model file of the cloud's model store into the deployment's `model.onnx`
 * (docs/edge-agent.md "Deployments"), with the one resumable download of fogline (`downloadResumable`
 * of '@fogline/shared/storage', the device models' too): the bytes so far in `model.onnx.partial`,
 * the next attempt, or the next start of a stopped edge, resumes with `Range` + `If-Range` (a file
 * that changed on the cloud comes whole), and the file is renamed into place only with the
 * deployment's length and sha256. Around it: an idle timeout on every attempt, a bounded number of
 * attempts after a dropped connection, a timeout or a 5xx/429, with exponential backoff, and progress
 * at most every PROGRESS_BYTES or PROGRESS_MS. A longer or shorter file fails as `size`, another
 * sha256 as `checksum`, both at once.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffCeilingMs, FoglineError, fromUnknown, httpRefusal, type ModelFile } from '@fogline/shared';
import { answerOfResponse, downloadResumable } from '@fogline/shared/storage';

export const PROGRESS_BYTES = 256 * 1024;
export const PROGRESS_MS = 1000;

export interface ModelFileSource {
  /** GETs the model file with these extra headers (Range, If-Range); resolves whatever its status. */
  openModelFile(
    model: string,
    version: number,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<IncomingMessage>;
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

/**
 * Why a download ended without the file: `size` and `checksum` are final, `download` after the
 * attempts ran out or an answer no attempt will change (401, 404, ...).
 */
export class DownloadFailure extends Error {
  constructor(
    readonly kind: 'download' | 'size' | 'checksum',
    message: string,
  ) {
    super(message);
  }
}

export interface DownloadJob {
  readonly source: ModelFileSource;
  readonly file: ModelFile;
  /** Where the checked file is installed (`<version dir>/model.onnx`); its directory exists. */
  readonly target: string;
  readonly settings: DownloadSettings;
  readonly onProgress: (receivedBytes: number) => void;
  /** All the bytes came; the sha256 is checked now. */
  readonly onVerify?: () => void;
  /** Aborts the download (the agent stops). */
  readonly signal: AbortSignal;
}

/** Resolves once `target` is the deployment's file; rejects with a DownloadFailure. */
export async function downloadModelFile(job: DownloadJob): Promise<void> {
  const { file, settings } = job;
  let lastError = '';
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    if (attempt > 1) {
      const waitMs = backoffCeilingMs(attempt - 2, {
        initialDelayMs: settings.backoffMs,
        maxDelayMs: 30_000,
      });
      await sleep(waitMs, undefined, { signal: job.signal }).catch(() => {});
    }
    if (job.signal.aborted) throw new DownloadFailure('download', 'stopped');
    try {
      await attemptOnce(job);
      return;
    } catch (err) {
      if (job.signal.aborted) throw new DownloadFailure('download', 'stopped');
      const final = finalFailure(err);
      if (final) throw final;
      lastError = fromUnknown(err).message;
    }
  }
  throw new DownloadFailure(
    'download',
    `${file.model}@${file.version}: ${settings.attempts} attempt(s) failed, the last: ${lastError}`,
  );
}

function attemptOnce(job: DownloadJob): Promise<void> {
  const { file } = job;
  const label = `${file.model}@${file.version}`;
  return downloadResumable({
    target: job.target,
    bytes: file.bytes,
    sha256: file.sha256,
    idleTimeoutMs: job.settings.idleTimeoutMs,
    progress: {
      everyBytes: PROGRESS_BYTES,
      everyMs: PROGRESS_MS,
      received: job.onProgress,
      ...(job.onVerify && { verifying: job.onVerify }),
    },
    open: async (headers, idle) => {
      const signal = AbortSignal.any([job.signal, idle]);
      return answerOfResponse(await job.source.openModelFile(file.model, file.version, headers, signal));
    },
    words: {
      refused: (status) => httpRefusal(status, `${label}: the cloud answered HTTP ${status}`),
      broken: (err) => new FoglineError('UNAVAILABLE', fromUnknown(err).message, { cause: err }),
      tooLarge: (got) =>
        `${label}: the download passed ${file.bytes} bytes (the deployment's size) at ${got}`,
      declaredTooLarge: (total) =>
        `${label}: the download passed ${file.bytes} bytes (the deployment's size) at ${total}`,
      length: (got) => `${label}: the cloud's file has ${got} bytes, the deployment says ${file.bytes}`,
      sha256: (got) => `${label}: sha256 ${got}, the deployment says ${file.sha256}`,
    },
  });
}

/** The failure no next attempt changes: the file is not the deployment's, or the cloud refuses it. */
function finalFailure(err: unknown): DownloadFailure | undefined {
  if (!(err instanceof FoglineError)) return undefined;
  if (err.code === 'INVALID_ARG') {
    return new DownloadFailure(err.details?.check === 'sha256' ? 'checksum' : 'size', err.message);
  }
  const status = err.details?.httpStatus;
  // 5xx and 429 may pass; anything else (401, 404, ...) will not.
  if (typeof status === 'number' && status < 500 && status !== 429) {
    return new DownloadFailure('download', err.message);
  }
  return undefined;
}
