/**
 * The download of a deployed model over real HTTP from a server that misbehaves the ways networks
 * do: it stalls mid-body, answers 503, 404, or a longer file than the deployment says. The server
 * speaks the model store's protocol (200, or 206 for `Range: bytes=n-`); the happy path and a cut
 * connection against the real cloud are in test/deployments.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailure, downloadModelFile, type ModelFileSource } from './model-download.ts';

const BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
const FILE = {
  model: 'm',
  version: 1,
  sha256: createHash('sha256').update(BYTES).digest('hex'),
  bytes: BYTES.length,
};
const SETTINGS = { idleTimeoutMs: 500, attempts: 3, backoffMs: 10 };

type Behaviour = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;
const ranges: (string | undefined)[] = [];
let server: Server | undefined;
let dir: string | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  ranges.length = 0;
});

/** A server with `behave`, and a ModelFileSource over real HTTP to it. */
async function serve(behave: Behaviour): Promise<ModelFileSource> {
  let attempt = 0;
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    behave(req, res, ++attempt);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    openModelFile: (_model, _version, from, signal) =>
      new Promise((resolve, reject) => {
        const headers = from > 0 ? { range: `bytes=${from}-` } : {};
        request({ host: '127.0.0.1', port, path: '/file', headers, signal }, resolve)
          .on('error', reject)
          .end();
      }),
  };
}

/** The store's answer: the whole file, or from the Range's start. */
function sendFile(req: IncomingMessage, res: ServerResponse, body = BYTES): void {
  const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const part = body.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, { 'content-length': part.length });
  res.end(part);
}

async function download(source: ModelFileSource, file = FILE) {
  dir = mkdtempSync(join(tmpdir(), 'fogline-download-'));
  const partPath = join(dir, 'model.onnx.part');
  const progress: number[] = [];
  const run = () =>
    downloadModelFile({
      source,
      file,
      partPath,
      settings: SETTINGS,
      signal: new AbortController().signal,
      onProgress: (n) => progress.push(n),
    });
  return { partPath, progress, run };
}

describe('model download', () => {
  it('an attempt that stalls mid-body is dropped after the idle timeout and the next resumes with Range', async () => {
    const source = await serve((req, res, attempt) => {
      if (attempt > 1) return sendFile(req, res);
      res.writeHead(200, { 'content-length': BYTES.length });
      res.write(BYTES.subarray(0, 100_000)); // then nothing
    });
    const { partPath, progress, run } = await download(source);
    await run();
    expect(readFileSync(partPath).equals(BYTES)).toBe(true);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(progress.at(-1)).toBe(BYTES.length);
  });

  it('a .part left by an earlier run is resumed, not downloaded again', async () => {
    const source = await serve((req, res) => sendFile(req, res));
    const { partPath, run } = await download(source);
    writeFileSync(partPath, BYTES.subarray(0, 123_456));
    await run();
    expect(ranges).toEqual(['bytes=123456-']);
    expect(readFileSync(partPath).equals(BYTES)).toBe(true);
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
});
