/**
 * downloadResumable against a real node:http server on 127.0.0.1 that serves a file with ranges
 * (the core's byteRangeOf, as the model servers do) and can cut the connection after K bytes, with
 * fetch as the transport and real files: a broken download resumes from its partial and installs
 * the same bytes; a file that changed between tries comes whole; 416 restarts; a partial that is not
 * the file is deleted and nothing installed; more bytes than the file has are refused; a try that
 * stalls is abandoned after the idle timeout; progress counts the resumed bytes.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byteRangeOf, contentRangeOf } from '../core/byte-range.ts';
import { FoglineError } from '../core/errors.ts';
import {
  answerOfResponse,
  type DownloadWords,
  downloadResumable,
  partialPathOf,
  type ResumableDownload,
} from './resumable-download.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FILE = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);

let server: Server | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fogline-resume-'));
});
afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Serves `file.bytes` with ranges; the next `cuts` answers are cut after `cutAfter` body bytes (or,
 * with `stall`, send nothing more). With `busyMs`, the cut comes at once, the process held busy that
 * long first (server and client are one process): the bytes and the end of the connection are then
 * both waiting on the client's socket when it next reads.
 */
async function fileServer(file: {
  bytes: Uint8Array;
  cutAfter?: number;
  cuts?: number;
  stall?: boolean;
  busyMs?: number;
}) {
  const seen: { range?: string; ifRange?: string | string[]; status: number }[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const etag = `"${sha256(file.bytes)}"`;
    const size = file.bytes.length;
    const range = byteRangeOf({ range: req.headers.range, ifRange: req.headers['if-range'] }, size, etag);
    const headers = { etag, 'accept-ranges': 'bytes' };
    const note = (status: number) =>
      seen.push({
        ...(req.headers.range !== undefined && { range: req.headers.range }),
        ...(req.headers['if-range'] !== undefined && { ifRange: req.headers['if-range'] }),
        status,
      });
    if (range.kind === 'unsatisfiable') {
      note(416);
      return res.writeHead(416, { ...headers, 'content-range': contentRangeOf(undefined, size) }).end();
    }
    const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, size - 1];
    const body = file.bytes.subarray(start, end + 1);
    const status = range.kind === 'part' ? 206 : 200;
    note(status);
    res.writeHead(status, {
      ...headers,
      'content-length': String(body.length),
      ...(range.kind === 'part' && { 'content-range': contentRangeOf(range, size) }),
    });
    if (file.cuts && file.cutAfter !== undefined) {
      file.cuts -= 1;
      res.write(body.subarray(0, file.cutAfter), () => {
        if (file.stall) return;
        if (file.busyMs === undefined) return void setTimeout(() => res.socket?.destroy(), 100);
        for (const until = Date.now() + file.busyMs; Date.now() < until; ) {} // busy: nothing read
        res.socket?.destroy();
      });
    } else res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.onnx`, seen };
}

const words: DownloadWords = {
  refused: (status) => new FoglineError('UNAVAILABLE', `HTTP ${status}`),
  broken: (err) => new FoglineError('UNAVAILABLE', `broken: ${String(err)}`),
  tooLarge: () => 'too large',
  length: (got) => `got ${got} bytes`,
  sha256: (got) => `sha256 ${got}`,
};

type Transport = 'fetch' | 'node:http';

/** One try: GET `url` with fetch (or node:http), into `<dir>/model.onnx`, for the file `expected`. */
function download(
  url: string,
  expected: Uint8Array = FILE,
  more: Pick<ResumableDownload, 'idleTimeoutMs' | 'progress'> = {},
  transport: Transport = 'fetch',
) {
  return downloadResumable({
    ...more,
    target: join(dir, 'model.onnx'),
    bytes: expected.length,
    sha256: sha256(expected),
    words,
    open: transport === 'fetch' ? openWithFetch(url) : openWithNodeHttp(url),
  });
}

const openWithFetch =
  (url: string): ResumableDownload['open'] =>
  async (headers, signal) => {
    const response = await fetch(url, { headers, signal });
    return {
      status: response.status,
      header: (name) => response.headers.get(name) ?? undefined,
      body: (response.body ?? new ReadableStream()) as unknown as AsyncIterable<Uint8Array>,
      cancel: () => void response.body?.cancel().catch(() => {}),
    };
  };

const openWithNodeHttp =
  (url: string): ResumableDownload['open'] =>
  (headers, signal) =>
    new Promise((resolve, reject) => {
      const req = request(url, { headers, signal }, (res) => resolve(answerOfResponse(res)));
      req.on('error', reject);
      req.end();
    });

const target = () => join(dir, 'model.onnx');
const partial = () => partialPathOf(target());

describe('downloadResumable', () => {
  it('a download cut after K bytes resumes from its partial on the next try; the file is identical', async () => {
    const { url, seen } = await fileServer({ bytes: FILE, cutAfter: 70_000, cuts: 1 });
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const kept = statSync(partial()).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(70_000);
    expect(statSync(partial()).mode & 0o777).toBe(0o600);
    expect(existsSync(target())).toBe(false);

    await download(url);
    expect(Buffer.from(readFileSync(target())).equals(Buffer.from(FILE))).toBe(true);
    const etag = `"${sha256(FILE)}"`;
    expect(seen).toEqual([{ status: 200 }, { range: `bytes=${kept}-`, ifRange: etag, status: 206 }]);
    expect(existsSync(partial())).toBe(false);
    expect(existsSync(`${partial()}.json`)).toBe(false);
  });

  it.each<Transport>(['fetch', 'node:http'])(
    '%s: a cut while the process is busy keeps every byte sent before it; the next try asks for the rest',
    async (transport) => {
      const { url, seen } = await fileServer({ bytes: FILE, cutAfter: 5000, cuts: 1, busyMs: 50 });
      await expect(download(url, FILE, {}, transport)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(statSync(partial()).size).toBe(5000);
      expect(readFileSync(partial()).equals(Buffer.from(FILE.subarray(0, 5000)))).toBe(true);
      expect(JSON.parse(readFileSync(`${partial()}.json`, 'utf8'))).toEqual({
        etag: `"${sha256(FILE)}"`,
        sha256: sha256(FILE),
        bytes: FILE.length,
      });

      await download(url, FILE, {}, transport);
      expect(Buffer.from(readFileSync(target())).equals(Buffer.from(FILE))).toBe(true);
      expect(seen).toEqual([
        { status: 200 },
        { range: 'bytes=5000-', ifRange: `"${sha256(FILE)}"`, status: 206 },
      ]);
    },
  );

  it('a file that changed between tries (If-Range no longer matches) comes whole and is installed', async () => {
    // The first try gets the start of other bytes (a damaged copy on the server), then it is fixed.
    const damaged = FILE.map((b) => b ^ 0xff);
    const served = { bytes: damaged, cutAfter: 50_000, cuts: 1 };
    const { url, seen } = await fileServer(served);
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    served.bytes = FILE;
    await download(url);
    expect(Buffer.from(readFileSync(target())).equals(Buffer.from(FILE))).toBe(true);
    expect(seen[1]).toMatchObject({ ifRange: `"${sha256(damaged)}"`, status: 200 });
  });

  it('416 for the partial drops it and asks for the whole file once', async () => {
    const { url, seen } = await fileServer({ bytes: FILE, cutAfter: 10_000, cuts: 1 });
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // The partial now says it has more than the server's file (a server that lost bytes).
    writeFileSync(partial(), Buffer.alloc(FILE.length - 1));
    server?.close();
    const shorter = FILE.subarray(0, 100_000);
    const other = await fileServer({ bytes: shorter });
    writeFileSync(
      `${partial()}.json`,
      JSON.stringify({ etag: `"${sha256(shorter)}"`, sha256: sha256(FILE), bytes: FILE.length }),
    );
    await expect(download(other.url)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: 'got 100000 bytes',
    });
    expect(other.seen.map((s) => s.status)).toEqual([416, 200]);
    expect(existsSync(partial())).toBe(false);
    expect(existsSync(target())).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('a corrupt partial (wrong sha256 at the end) is deleted and not installed; the next try starts over', async () => {
    const { url, seen } = await fileServer({ bytes: FILE, cutAfter: 70_000, cuts: 1 });
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const kept = readFileSync(partial());
    kept[0] = kept[0]! ^ 1;
    writeFileSync(partial(), kept);
    await expect(download(url)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/^sha256 [0-9a-f]{64}$/),
    });
    expect(existsSync(partial())).toBe(false);
    expect(existsSync(target())).toBe(false);
    await download(url);
    expect(Buffer.from(readFileSync(target())).equals(Buffer.from(FILE))).toBe(true);
    expect(seen.map((s) => s.status)).toEqual([200, 206, 200]);
  });

  it('more bytes than the file has are refused and the partial deleted', async () => {
    const { url } = await fileServer({ bytes: FILE, cutAfter: 70_000, cuts: 1 });
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Another file (150,000 bytes): the partial is not for it, and the server sends 200,000.
    await expect(download(url, FILE.subarray(0, 150_000))).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: 'too large',
    });
    expect(existsSync(partial())).toBe(false);
  });

  it('a try with no byte for idleTimeoutMs is abandoned as broken, its partial kept for the next', async () => {
    const { url, seen } = await fileServer({ bytes: FILE, cutAfter: 70_000, cuts: 1, stall: true });
    await expect(download(url, FILE, { idleTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/no byte for 300 ms/),
    });
    const kept = statSync(partial()).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(70_000);
    await download(url, FILE, { idleTimeoutMs: 300 });
    expect(Buffer.from(readFileSync(target())).equals(Buffer.from(FILE))).toBe(true);
    expect(seen[1]).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
  });

  it('progress counts the bytes in the partial, resumed ones included, then says verifying', async () => {
    const { url } = await fileServer({ bytes: FILE, cutAfter: 70_000, cuts: 1 });
    await expect(download(url)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const kept = statSync(partial()).size;
    const events: (number | 'verifying')[] = [];
    const progress = {
      everyBytes: 50_000,
      everyMs: 60_000,
      received: (bytes: number) => events.push(bytes),
      verifying: () => events.push('verifying'),
    };
    await download(url, FILE, { progress });
    const counts = events.slice(0, -1) as number[];
    expect(events.at(-1)).toBe('verifying');
    expect(counts.at(-1)).toBe(FILE.length);
    expect(counts[0]).toBeGreaterThanOrEqual(kept + 50_000);
    for (const [i, n] of counts.slice(1, -1).entries()) expect(n - counts[i]!).toBeGreaterThanOrEqual(50_000);
  });
});
