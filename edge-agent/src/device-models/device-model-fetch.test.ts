/**
 * fetchDeviceModel against a real HTTP server on 127.0.0.1 standing in for the cloud's model store:
 * what a store that does not match the deployment (more bytes, another sha256, a config that is not
 * JSON), refuses it (401, 403, 404: the code the edge reports) or does not answer gets from the
 * edge, the credential it is asked with, and a download the connection cut that the next try resumes.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileAnswer } from '@fogline/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchDeviceModel } from './device-model-fetch.ts';

const bytes = new Uint8Array(4096).map((_, i) => i % 251);
const file = {
  model: 'digits-tiny',
  version: 3,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  bytes: bytes.length,
};
const FILE_PATH = '/v2/fogline/models/digits-tiny/versions/3/file';
const CONFIG_PATH = '/v2/fogline/models/digits-tiny/versions/3/config';

let server: Server | undefined;
let dir: string;
/** Where the edge installs the model file. */
const target = () => join(dir, 'model.onnx');
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fogline-device-model-fetch-'));
});
afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A store answering with `handler`; the access the edge would use for it. */
async function store(handler: (req: IncomingMessage, res: ServerResponse) => void, timeoutMs?: number) {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    cloudUrl: () => `http://127.0.0.1:${port}`,
    edgeId: 'edge-1',
    token: 'tok-1',
    ...(timeoutMs !== undefined && { timeoutMs }),
  };
}

describe('fetchDeviceModel', () => {
  it('downloads the file and its config with the edge credential', async () => {
    const seen: string[] = [];
    const access = await store((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      if (req.url === FILE_PATH) res.end(bytes);
      else if (req.url === CONFIG_PATH) res.end('{"name":"digits-tiny"}');
      else res.writeHead(404).end();
    });
    const fetched = await fetchDeviceModel(access, file, target());
    expect(readFileSync(target()).equals(Buffer.from(bytes))).toBe(true);
    expect(fetched.config).toBe('{"name":"digits-tiny"}');
    expect(seen).toEqual([`${FILE_PATH} Bearer edge-1:tok-1`, `${CONFIG_PATH} Bearer edge-1:tok-1`]);
  });

  it('takes a version without a config (404)', async () => {
    const access = await store((req, res) =>
      req.url === FILE_PATH ? res.end(bytes) : res.writeHead(404).end(),
    );
    expect((await fetchDeviceModel(access, file, target())).config).toBeUndefined();
  });

  it('refuses a file longer than the deployment says, without reading the rest (INVALID_ARG)', async () => {
    const access = await store((_req, res) => res.end(Buffer.concat([bytes, Buffer.alloc(1 << 20)])));
    await expect(fetchDeviceModel(access, file, target())).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: `${FILE_PATH}: more than ${bytes.length} bytes`,
    });
  });

  it('refuses a file with another sha256, and a config that is not JSON (INVALID_ARG)', async () => {
    const other = await store((req, res) =>
      req.url === FILE_PATH ? res.end(bytes.map((b) => b ^ 1)) : res.end(),
    );
    await expect(fetchDeviceModel(other, file, target())).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/sha256 [0-9a-f]{64} is not the deployment's/),
    });
    expect(existsSync(target())).toBe(false);
    expect(existsSync(`${target()}.partial`)).toBe(false);
    server?.close();
    const badConfig = await store((req, res) => res.end(req.url === FILE_PATH ? bytes : 'not json'));
    await expect(fetchDeviceModel(badConfig, file, target())).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: 'device model digits-tiny@3: its config is not JSON',
    });
  });

  it('says which check failed: a refused credential, and a store that does not answer in time', async () => {
    const refusing = await store((_req, res) => res.writeHead(401).end());
    await expect(fetchDeviceModel(refusing, file, target())).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    server?.close();
    const silent = await store(() => {}, 200);
    await expect(fetchDeviceModel(silent, file, target())).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      message: `cannot fetch ${FILE_PATH}: no answer within 200 ms`,
    });
  });

  it("reports the store's refusal as what it is: 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 503 UNAVAILABLE", async () => {
    let status = 0;
    const access = await store((_req, res) => res.writeHead(status).end());
    const codes: Record<number, string> = {};
    for (status of [401, 403, 404, 503]) {
      const error = await fetchDeviceModel(access, file, target()).catch((e: unknown) => e);
      expect(error, String(status)).toMatchObject({
        message: `device model digits-tiny@3: the cloud's model store answered HTTP ${status}`,
        details: { httpStatus: status },
      });
      codes[status] = (error as { code: string }).code;
    }
    expect(codes).toEqual({
      401: 'UNAUTHENTICATED',
      403: 'PERMISSION_DENIED',
      404: 'NOT_FOUND',
      503: 'UNAVAILABLE',
    });
  });

  it('a download the connection cut resumes on the next try with Range and If-Range; the file is identical', async () => {
    const etag = `"${file.sha256}"`;
    const asked: (string | undefined)[] = [];
    let cut = true;
    const access = await store((req, res) => {
      if (req.url !== FILE_PATH) return res.writeHead(404).end();
      asked.push(req.headers.range && `${req.headers.range} if-range ${req.headers['if-range']}`);
      const { status, headers, body } = fileAnswer(req, bytes, etag);
      res.writeHead(status, headers);
      if (!cut) return res.end(body);
      cut = false;
      res.write(body.subarray(0, 1000), () => setTimeout(() => res.socket?.destroy(), 100));
    });
    await expect(fetchDeviceModel(access, file, target())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^cannot fetch \/v2\/fogline\/models\/digits-tiny\/versions\/3\/file: /),
    });
    expect(readFileSync(`${target()}.partial`).length).toBe(1000);
    expect(existsSync(target())).toBe(false);

    await fetchDeviceModel(access, file, target());
    expect(readFileSync(target()).equals(Buffer.from(bytes))).toBe(true);
    expect(asked).toEqual([undefined, `bytes=1000- if-range ${etag}`]);
    expect(existsSync(`${target()}.partial`)).toBe(false);
  });
});
