/**
 * A model file downloaded so that a broken download resumes where it stopped (docs/edge-agent.md
 * "Device models" and "Deployments", docs/device-sdk.md "Model updates"): the edge's fetches from the
 * cloud's model store (device models, its own deployments) and a Node device's from its edge. The
 * transport and the retries are the caller's (`open`: node:http, fetch); the bytes on disk, the
 * resume and the checks are here.
 *
 * - The bytes received so far are in `<target>.partial` (0600), the ETag they belong to and the file
 *   they are for (sha256, length) in `<target>.partial.json`.
 * - A try with a partial asks `Range: bytes=<size>-` with `If-Range: <etag>` (RFC 9110 §13.1.5):
 *   206 from `<size>` appends; 200 (the file changed, or the server ignores ranges) starts again
 *   from byte 0; 416, or a 206 from elsewhere, drops the partial and asks for the whole file once.
 * - A body that breaks off keeps what came (`words.broken`): the next try resumes. Every byte that
 *   came before the break is written first, those the transport still held included (the body is
 *   read as it comes, up to READ_AHEAD_BYTES ahead of the disk: a transport drops what it holds
 *   unread at a break). A 200 without a strong ETag is kept too but not resumed (nothing to ask
 *   If-Range with).
 * - With `idleTimeoutMs`, a try with no byte for that long (waiting for the answer, or between two
 *   pieces of its body) is abandoned as broken (`words.broken`): the partial is kept.
 * - With `progress`, the bytes in the partial (resumed ones included) are reported at most every
 *   `everyBytes` or `everyMs` and when a body ends; `verifying` before the checks below.
 * - More bytes than `bytes`, in all (a declared length or the body itself), drop the partial.
 * - At the end the partial must have `bytes` bytes and the sha256; then it is renamed to `target`.
 *   Otherwise it is deleted and the download fails (INVALID_ARG, the caller's words, with
 *   `details.check`: 'bytes' for a length, 'sha256' for the hash).
 */
import { open as openFile, readFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { FoglineError } from '../core/errors.ts';
import { fileSha256 } from './file-sha256.ts';
import { PRIVATE_FILE_MODE, writePrivateFile } from './private-dir.ts';

/** One answer, however it was fetched. */
export interface DownloadAnswer {
  readonly status: number;
  /** A response header by its lower-case name. */
  header(name: string): string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
  /** Stops the answer: the rest is not read. */
  cancel(): void;
}

/** The errors of a download in the caller's words (its messages and codes of before). */
export interface DownloadWords {
  /** A status that is no part of the download (401, 404, 503, ...). */
  refused(status: number): FoglineError;
  /** The body broke off or the deadline passed while it came: the partial is kept. */
  broken(err: unknown): FoglineError;
  /** More bytes came than the file has, `got` with the last piece (INVALID_ARG). */
  tooLarge(got: number): string;
  /** A Content-Length that makes more than the file has, before the body (INVALID_ARG); absent: read on. */
  declaredTooLarge?(total: number): string;
  /** The whole download has another length (INVALID_ARG). */
  length(got: number): string;
  /** The whole download has another sha256 (INVALID_ARG). */
  sha256(got: string): string;
}

export interface ResumableDownload {
  /** Where the checked file is installed (renamed into place); its directory exists. */
  readonly target: string;
  /** Length and sha256 (hex) the file must have. */
  readonly bytes: number;
  readonly sha256: string;
  /**
   * Sends the GET with these extra headers; rejects (in the caller's words) when no answer comes.
   * `signal` aborts when the try is abandoned (`idleTimeoutMs`).
   */
  open(headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<DownloadAnswer>;
  readonly words: DownloadWords;
  /** A try with no byte for this long is abandoned as broken, ms. Default: none (the caller's deadline). */
  readonly idleTimeoutMs?: number;
  readonly progress?: DownloadProgress;
}

/** What a caller that shows a download's progress is told. */
export interface DownloadProgress {
  /** The bytes in the partial, resumed ones included. */
  received(bytes: number): void;
  /** All the bytes came: the length and sha256 are checked now. */
  verifying?(): void;
  /** `received` at most every this many bytes or ms, and when a body ends. */
  readonly everyBytes: number;
  readonly everyMs: number;
}

interface PartialState {
  readonly etag: string | undefined;
  readonly sha256: string;
  readonly bytes: number;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export const partialPathOf = (target: string) => `${target}.partial`;
const statePathOf = (target: string) => `${target}.partial.json`;

/** Downloads, resuming a partial of an earlier try, checks and installs `target`. */
export async function downloadResumable(d: ResumableDownload): Promise<void> {
  let resume = await resumable(d);
  const idle = idleWatch(d.idleTimeoutMs);
  try {
    for (let restarted = false; ; restarted = true) {
      const headers: Record<string, string> =
        resume === undefined ? {} : { range: `bytes=${resume.offset}-`, 'if-range': resume.etag };
      const answer = await d.open(headers, idle.signal).catch((err: unknown) => {
        throw idle.signal.aborted ? d.words.broken(idle.signal.reason) : err;
      });
      const from = startOf(answer, resume?.offset);
      if (from === 'restart' && !restarted) {
        answer.cancel();
        await discardPartial(d.target);
        resume = undefined;
        continue;
      }
      if (from === 'restart' || from === 'refused') {
        answer.cancel();
        throw d.words.refused(answer.status);
      }
      await receive(d, answer, readAhead(answer.body, idle.touch), from, idle);
      idle.stop();
      d.progress?.verifying?.();
      await install(d);
      return;
    }
  } finally {
    idle.stop();
  }
}

interface IdleWatch {
  /** Aborts, with the reason, once no byte came for the timeout. */
  readonly signal: AbortSignal;
  /** A byte came: the timeout starts again. */
  touch(): void;
  stop(): void;
}

function idleWatch(timeoutMs: number | undefined): IdleWatch {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    if (timeoutMs === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new Error(`no byte for ${timeoutMs} ms`)), timeoutMs);
  };
  touch();
  return { signal: abort.signal, touch, stop: () => clearTimeout(timer) };
}

/** Where the partial of an earlier try ends, if it is for this file and can be resumed. */
async function resumable(d: ResumableDownload): Promise<{ offset: number; etag: string } | undefined> {
  try {
    const state = JSON.parse(await readFile(statePathOf(d.target), 'utf8')) as Partial<PartialState>;
    const { size } = await stat(partialPathOf(d.target));
    const ours = state.sha256 === d.sha256 && state.bytes === d.bytes && typeof state.etag === 'string';
    if (ours && size > 0 && size < d.bytes) return { offset: size, etag: state.etag as string };
  } catch {
    // None, or unreadable: start from byte 0.
  }
  await discardPartial(d.target);
  return undefined;
}

/** The offset the answer's body starts at, or what to do instead. */
function startOf(answer: DownloadAnswer, asked: number | undefined): number | 'restart' | 'refused' {
  if (answer.status === 200) return 0;
  if (asked === undefined) return 'refused';
  if (answer.status === 416) return 'restart';
  if (answer.status !== 206) return 'refused';
  const range = CONTENT_RANGE.exec(answer.header('content-range') ?? '');
  return range && Number(range[1]) === asked ? asked : 'restart';
}

/** Writes the answer's body to the partial from `from` on. */
async function receive(
  d: ResumableDownload,
  answer: DownloadAnswer,
  body: BodyReadAhead,
  from: number,
  idle: IdleWatch,
): Promise<void> {
  const declared = answer.header('content-length');
  if (declared !== undefined && d.words.declaredTooLarge && from + Number(declared) > d.bytes) {
    body.stop();
    answer.cancel();
    await discardPartial(d.target);
    throw invalid(d.words.declaredTooLarge(from + Number(declared)), 'bytes');
  }
  // Emptied before the new ETag is written: the bytes of another file never carry it.
  const file = await openFile(partialPathOf(d.target), from === 0 ? 'w' : 'a', PRIVATE_FILE_MODE).catch(
    (err: unknown) => {
      body.stop(); // nowhere to write: the body is not read on
      answer.cancel();
      throw err;
    },
  );
  const cancelIdle = () => answer.cancel();
  idle.signal.addEventListener('abort', cancelIdle, { once: true });
  let size = from;
  const progress = d.progress;
  let reported = { bytes: size, at: Date.now() };
  try {
    await file.chmod(PRIVATE_FILE_MODE);
    if (from === 0) await writeState(d, answer.header('etag'));
    try {
      // What came before a break is taken (and written) before the break is.
      for (let pieces = await body.take(); pieces.length > 0; pieces = await body.take()) {
        for (const piece of pieces) {
          size += piece.byteLength;
          if (size > d.bytes) throw invalid(d.words.tooLarge(size), 'bytes');
        }
        const wanted = pieces.reduce((n, piece) => n + piece.byteLength, 0);
        const { bytesWritten } = await file.writev(pieces);
        if (bytesWritten !== wanted) throw new Error(`wrote ${bytesWritten} of ${wanted} bytes`);
        if (
          progress &&
          (size - reported.bytes >= progress.everyBytes || Date.now() - reported.at >= progress.everyMs)
        ) {
          reported = { bytes: size, at: Date.now() };
          progress.received(size);
        }
      }
      if (idle.signal.aborted) throw idle.signal.reason;
    } catch (err) {
      if (err instanceof FoglineError) throw err;
      throw d.words.broken(idle.signal.aborted ? idle.signal.reason : err);
    } finally {
      await file.sync().catch(() => {});
    }
    progress?.received(size);
  } catch (err) {
    body.stop();
    answer.cancel();
    if ((err as FoglineError).code === 'INVALID_ARG') await discardPartial(d.target);
    throw err;
  } finally {
    idle.signal.removeEventListener('abort', cancelIdle);
    await file.close();
  }
}

/** `.partial.json` for a partial from byte 0: the file it is for, and the ETag its bytes belong to. */
function writeState(d: ResumableDownload, etag: string | undefined): Promise<void> {
  const state: PartialState = {
    etag: etag?.startsWith('"') ? etag : undefined,
    sha256: d.sha256,
    bytes: d.bytes,
  };
  return writePrivateFile(statePathOf(d.target), JSON.stringify(state));
}

/**
 * An answer's body, read as it comes and held until written, up to READ_AHEAD_BYTES ahead of the
 * disk. A transport drops what it holds unread when the connection breaks (a ReadableStream that
 * errors empties its queue, a destroyed IncomingMessage its buffer), so a read is kept waiting on it
 * from the moment the answer is there: a piece that came before the break is here, not there.
 */
interface BodyReadAhead {
  /**
   * The pieces that came since the last take (waits for one); [] once the body ended. The error that
   * broke the body off is thrown once every piece before it was taken.
   */
  take(): Promise<Uint8Array[]>;
  /** No more is read: the body is given up (its transport is cancelled by the caller). */
  stop(): void;
}

/**
 * Beyond this much held in memory the body is not read until the disk takes it, and the transport's
 * backpressure slows the link; a break then can still drop what the transport holds (its own buffer).
 */
const READ_AHEAD_BYTES = 1024 * 1024;

function readAhead(body: AsyncIterable<Uint8Array>, onPiece: () => void): BodyReadAhead {
  const pieces = body[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  let reading = false;
  let ended: { readonly error?: unknown } | undefined;
  let wake: (() => void) | undefined;
  const read = () => {
    if (reading || ended || heldBytes >= READ_AHEAD_BYTES) return;
    reading = true;
    pieces.next().then(
      (next) => {
        reading = false;
        if (ended) return; // stopped
        if (next.done) ended = {};
        else {
          held.push(next.value);
          heldBytes += next.value.byteLength;
          onPiece();
          read(); // at once: the next piece finds a read waiting
        }
        wake?.();
      },
      (error: unknown) => {
        reading = false;
        if (ended) return; // stopped
        ended = { error: error ?? new Error('the body broke off') };
        wake?.();
      },
    );
  };
  read();
  return {
    async take() {
      while (held.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (held.length > 0) {
        const taken = held.splice(0);
        heldBytes = 0;
        read();
        return taken;
      }
      if (ended && 'error' in ended) throw ended.error;
      return [];
    },
    stop() {
      ended ??= {};
      held.length = 0;
      Promise.resolve()
        .then(() => pieces.return?.())
        .catch(() => {});
    },
  };
}

/** Checks the whole partial and renames it into place; deletes it when it is not the file. */
async function install(d: ResumableDownload): Promise<void> {
  const partial = partialPathOf(d.target);
  const { size } = await stat(partial);
  const fail = async (message: string, check: 'bytes' | 'sha256') => {
    await discardPartial(d.target);
    return invalid(message, check);
  };
  if (size !== d.bytes) throw await fail(d.words.length(size), 'bytes');
  const sha256 = await fileSha256(partial);
  if (sha256 !== d.sha256) throw await fail(d.words.sha256(sha256), 'sha256');
  await rename(partial, d.target);
  await rm(statePathOf(d.target), { force: true });
}

/** The file is not the one asked for: its length (`bytes`) or its hash (`sha256`) is another. */
function invalid(message: string, check: 'bytes' | 'sha256'): FoglineError {
  return new FoglineError('INVALID_ARG', message, { details: { check } });
}

/** A node:http response as a download's answer. */
export function answerOfResponse(res: IncomingMessage): DownloadAnswer {
  return {
    status: res.statusCode ?? 0,
    header: (name) => {
      const value = res.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    body: res,
    cancel: () => res.destroy(),
  };
}

/** Deletes `<target>.partial` and its `.partial.json`, if any: a download of `target` that is not wanted now. */
export async function discardPartial(target: string): Promise<void> {
  await rm(partialPathOf(target), { force: true });
  await rm(statePathOf(target), { force: true });
}
