/**
 * The download of a deployed model over real HTTP from a server that misbehaves the ways networks
 * do: it stalls mid-body, answers 503, 404, a longer file than the deployment says, or another file
 * between two attempts. The server speaks the model store's protocol (ETag the sha256, 200, or 206
 * for `Range: bytes=n-` whose If-Range is that ETag); the happy path and a cut connection against
 * the real cloud are in test/deployments.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partialPathOf } from '@fogline/shared/storage';
import { fileAnswer } from '@fogline/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailure, downloadModelFile, type ModelFileSource } from './model-download.ts';

const BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FILE = { model: 'm', version: 1, sha256: sha256(BYTES), bytes: BYTES.length };
const SETTINGS = { idleTimeoutMs: 500, attempts: 3, backoffMs: 10 };

type Behaviour = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;
const ranges: (string | undefined)[] = [];
const ifRanges: (string | undefined)[] = [];
let server: Server | undefined;
let dir: string | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  ranges.length = 0;
  ifRanges.length = 0;
});

/** A server with `behave`, and a ModelFileSource over real HTTP to it. */
async function serve(behave: Behaviour): Promise<ModelFileSource> {
  let attempt = 0;
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    ifRanges.push(req.headers['if-range'] as string | undefined);
    behave(req, res, ++attempt);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    openModelFile: (_model, _version, headers, signal) =>
      new Promise((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/file', headers, signal }, resolve)
          .on('error', reject)
          .end();
      }),
  };
}

/** The store's answer for `body`: the whole file, or the Range's part; the first `sendBytes` of it. */
function sendFile(req: IncomingMessage, res: ServerResponse, body = BYTES, sendBytes = Infinity): void {
  const { status, headers, body: bytes } = fileAnswer(req, body, `"${sha256(body)}"`);
  res.writeHead(status, headers);
  if (sendBytes >= bytes.length) res.end(bytes);
  else res.write(bytes.subarray(0, sendBytes)); // then nothing
}

async function download(source: ModelFileSource, file = FILE) {
  dir = mkdtempSync(join(tmpdir(), 'fogline-download-'));
  const target = join(dir, 'model.onnx');
  const progress: number[] = [];
  const run = (signal = new AbortController().signal) =>
    downloadModelFile({
      source,
      file,
      target,
      settings: SETTINGS,
      signal,
      onProgress: (n) => progress.push(n),
    });
  return { target, progress, run };
}

describe('model download', () => {
  it('an attempt that stalls mid-body is dropped after the idle timeout and the next resumes with Range', async () => {
    const source = await serve((req, res, attempt) =>
      sendFile(req, res, BYTES, attempt > 1 ? Infinity : 100_000),
    );
    const { target, progress, run } = await download(source);
    await run();
    expect(readFileSync(target).equals(BYTES)).toBe(true);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(progress.at(-1)).toBe(BYTES.length);
  });

  it('a partial left by an earlier run (the edge stopped) is resumed, not downloaded again', async () => {
    const source = await serve((req, res, attempt) =>
      sendFile(req, res, BYTES, attempt > 1 ? Infinity : 123_456),
    );
    const { target, run } = await download(source);
    const stop = new AbortController();
    const first = run(stop.signal).catch((e: unknown) => e);
    const partial = partialPathOf(target);
    while (!existsSync(partial) || statSync(partial).size < 123_456)
      await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    expect(await first).toMatchObject({ kind: 'download', message: 'stopped' });
    ranges.length = 0;
    await run();
    expect(ranges).toEqual(['bytes=123456-']);
    expect(readFileSync(target).equals(BYTES)).toBe(true);
  });

  it('503 on every attempt fails as download after the bounded attempts', async () => {
    const source = await serve((_req, res) => res.writeHead(503).end());
    const { run } = await download(source);
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailure);
    expect(err).toMatchObject({ kind: 'download', message: expect.stringMatching(/3 attempt/) });
    expect(ranges).toHaveLength(3);
  });

  it('404 fails at once, without retries', async () => {
    const source = await serve((_req, res) => res.writeHead(404).end());
    const { run } = await download(source);
    await expect(run()).rejects.toMatchObject({ kind: 'download', message: expect.stringMatching(/404/) });
    expect(ranges).toHaveLength(1);
  });

  it('a file longer than the deployment says is refused as size, before or while it arrives', async () => {
    const announced = await serve((req, res) => sendFile(req, res));
    const first = await download(announced, { ...FILE, bytes: BYTES.length - 1 });
    await expect(first.run()).rejects.toMatchObject({ kind: 'size' });
    // No Content-Length (chunked): refused at the byte past the limit.
    server?.closeAllConnections();
    await new Promise((r) => server!.close(r));
    const chunked = await serve((_req, res) => {
      res.writeHead(200);
      res.end(BYTES);
    });
    const second = await download(chunked, { ...FILE, bytes: 1000 });
    await expect(second.run()).rejects.toMatchObject({
      kind: 'size',
      message: expect.stringMatching(/passed 1000/),
    });
  });

  it('a file that changed on the cloud between attempts (If-Range no longer matches) comes whole, never spliced', async () => {
    // The first attempt gets the start of other bytes (the cloud's file then), cut; then the deployment's.
    const before = Buffer.from(BYTES.map((b) => b ^ 0xff));
    const source = await serve((req, res, attempt) => {
      if (attempt > 1) return sendFile(req, res);
      sendFile(req, res, before, 100_000);
      setTimeout(() => res.socket?.destroy(), 100);
    });
    const { target, run } = await download(source);
    await run();
    expect(readFileSync(target).equals(BYTES)).toBe(true);
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(ifRanges[1]).toBe(`"${sha256(before)}"`);
  });
});
