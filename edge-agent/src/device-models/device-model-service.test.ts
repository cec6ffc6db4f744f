/**
 * The edge's device model service retries a download that failed on the way, without another
 * desired state: a real node:http server on 127.0.0.1 stands in for the cloud's model store and cuts
 * the body or answers 503 on the first tries; the edge ends up serving the file, each try asking
 * Range from where the last stopped; while a retry runs, `status()` says so, and after each failure
 * it has that failure's wait. A wrong sha256 and a 403 (PERMISSION_DENIED) are not retried; a newer
 * file and close() during the backoff drop the retry. Short backoff settings (the `retry` option), no
 * fake timers.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelFile } from '@fogline/shared';
import { cutOnceHeld, fileAnswer } from '@fogline/shared/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceModelService, type DeviceModelStatus } from './device-model-service.ts';

const bytes = new Uint8Array(4096).map((_, i) => i % 251);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const v3: ModelFile = { model: 'digits-tiny', version: 3, sha256, bytes: bytes.length };
const v4: ModelFile = { ...v3, version: 4 };
const ETAG = `"${sha256}"`;

let server: Server | undefined;
let dir: string;
let service: DeviceModelService | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fogline-device-model-service-'));
});
afterEach(() => {
  service?.close();
  server?.closeAllConnections();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The store: every version's file is `bytes`, with ranges, no config. The first `failures.length`
 * file requests of version 3 fail as listed (`cut`: 1000 bytes, then the connection drops once the
 * edge's partial holds them; 403, 503: that status; `held 503` and `held`: a 503 or the file once the
 * test calls `release()`); version 4 answers after `slowMs`.
 * `asked` has `version range` of every file request.
 */
async function store(failures: ('cut' | 403 | 503 | 'held 503' | 'held')[], slowMs = 0) {
  const asked: string[] = [];
  const held: (() => void)[] = [];
  server = createServer(async (req, res) => {
    const file = /^\/v2\/fogline\/models\/digits-tiny\/versions\/(\d+)\/file$/.exec(req.url ?? '');
    if (!file) return res.writeHead(404).end();
    asked.push(`${file[1]} ${req.headers.range ?? 'whole'}`);
    if (file[1] === '4') await new Promise((resolve) => setTimeout(resolve, slowMs));
    let failure = file[1] === '3' ? failures.shift() : undefined;
    if (failure === 'held 503' || failure === 'held') {
      await new Promise<void>((resolve) => held.push(resolve));
      failure = failure === 'held 503' ? 503 : undefined;
    }
    if (typeof failure === 'number') return res.writeHead(failure).end();
    const { status, headers, body } = fileAnswer(req, bytes, ETAG);
    res.writeHead(status, headers);
    if (failure === undefined) return res.end(body);
    const sent = bytes.length - body.length + 1000;
    res.write(body.subarray(0, 1000), () => void cutOnceHeld(res, `${modelFile(v3)}.partial`, sent));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const warnings: string[] = [];
  /** The status as each warning is logged (a failed try). */
  const statusAtWarning: DeviceModelStatus[] = [];
  const published: string[] = [];
  service = new DeviceModelService({
    edgeId: 'edge-1',
    dataDir: dir,
    store: { cloudUrl: () => `http://127.0.0.1:${port}`, edgeId: 'edge-1', token: 'tok-1' },
    publish: async (payload) => void published.push(new TextDecoder().decode(payload)),
    baseUrl: () => 'http://127.0.0.1:8091',
    logger: {
      info: () => {},
      warn: (m) => {
        warnings.push(m);
        statusAtWarning.push(service!.status());
      },
    },
    retry: { initialDelayMs: 20, maxDelayMs: 40 },
  });
  /** Lets the oldest held request go on. */
  const release = () => held.shift()?.();
  return { service, asked, warnings, statusAtWarning, published, release };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const modelFile = (f: ModelFile) => join(dir, 'device-models', f.model, String(f.version), 'model.onnx');

describe('the edge retries a device model download that failed on the way', () => {
  it('two bodies cut after 1000 bytes: retried with backoff from where each stopped, then served', async () => {
    const { service, asked, warnings, published } = await store(['cut', 'cut']);
    await expect(service.apply(v3)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^cannot fetch \/v2\/fogline\/models\/digits-tiny\/versions\/3\/file: /),
    });
    expect(service.status().failure?.retryInMs).toBeTypeOf('number');
    await vi.waitFor(() => expect(service.status().current).toEqual(v3), { timeout: 5000 });
    expect(readFileSync(modelFile(v3)).equals(Buffer.from(bytes))).toBe(true);
    expect(asked).toEqual(['3 whole', '3 bytes=1000-', '3 bytes=2000-']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^device model: digits-tiny@3 not served: cannot fetch .*; retry 1 in \d+ ms$/,
    );
    expect(warnings[1]).toMatch(/; retry 2 in \d+ ms$/);
    expect(service.status()).toEqual({ current: v3, retries: 2 });
    expect(published).toHaveLength(1);
  });

  it('while a retry runs its status says so, with no wait left; when it fails again, the new wait', async () => {
    const { service, asked, warnings, statusAtWarning, release } = await store(['cut', 'held 503', 'held']);
    await service.apply(v3).catch(() => {});
    // The retry has reached the store, which holds it: under way, no wait left.
    await vi.waitFor(() => expect(asked).toHaveLength(2), { timeout: 5000 });
    expect(service.status()).toEqual({
      failure: { file: v3, message: expect.stringMatching(/^cannot fetch /), retrying: true },
      retries: 1,
    });
    release(); // it fails (503); the third try is held in turn
    await vi.waitFor(() => expect(asked).toHaveLength(3), { timeout: 5000 });
    expect(service.status()).toEqual({
      failure: { file: v3, message: expect.stringMatching(/HTTP 503/), retrying: true },
      retries: 2,
    });
    release();
    await vi.waitFor(() => expect(service.status().current).toEqual(v3), { timeout: 5000 });
    expect(service.status()).toEqual({ current: v3, retries: 2 });
    // At each failure: that failure's own wait (the one its log line names), no "under way".
    const waits = warnings.map((w) => Number(/; retry \d in (\d+) ms$/.exec(w)?.[1]));
    expect(statusAtWarning.map((s) => s.failure)).toEqual([
      { file: v3, message: expect.stringMatching(/^cannot fetch /), retryInMs: waits[0] },
      { file: v3, message: expect.stringMatching(/HTTP 503/), retryInMs: waits[1] },
    ]);
  });

  it('an HTTP 503 is retried: its error as before, then the file is served', async () => {
    const { service, asked } = await store([503]);
    await expect(service.apply(v3)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: "device model digits-tiny@3: the cloud's model store answered HTTP 503",
    });
    await vi.waitFor(() => expect(service.status().current).toEqual(v3), { timeout: 5000 });
    expect(asked).toEqual(['3 whole', '3 whole']);
  });

  it('an HTTP 403 from the store is PERMISSION_DENIED, reported once and not retried', async () => {
    const { service, asked, warnings } = await store([403]);
    await expect(service.apply(v3)).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: "device model digits-tiny@3: the cloud's model store answered HTTP 403",
      details: { httpStatus: 403 },
    });
    await settle();
    expect(asked).toEqual(['3 whole']);
    expect(warnings).toEqual([
      "device model: digits-tiny@3 not served: device model digits-tiny@3: the cloud's model store answered HTTP 403",
    ]);
    expect(service.status()).toEqual({ failure: { file: v3, message: expect.stringMatching(/HTTP 403$/) } });
  });

  it('a wrong sha256 is reported once and not retried', async () => {
    const { service, asked, warnings } = await store([]);
    const wrong = { ...v3, sha256: 'ab'.repeat(32) };
    await expect(service.apply(wrong)).rejects.toMatchObject({ code: 'INVALID_ARG' });
    await settle();
    expect(asked).toEqual(['3 whole']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toMatch(/retry/);
    expect(service.status()).toEqual({ failure: { file: wrong, message: expect.stringMatching(/sha256/) } });
  });

  it('a newer desired state during the backoff drops the retry of the old file', async () => {
    const { service, asked } = await store(['cut', 'cut', 'cut'], 200);
    await service.apply(v3).catch(() => {});
    const newer = service.apply(v4);
    // v3's retry is dropped: its failure no longer counts down to one.
    expect(service.status()).toEqual({
      failure: { file: v3, message: expect.stringMatching(/^cannot fetch /) },
      retries: 1,
    });
    await expect(newer).resolves.toMatchObject({ current: v4 });
    await settle();
    expect(asked).toEqual(['3 whole', '4 whole']);
    expect(service.status().current).toEqual(v4);
  });

  it('close() during the backoff: no further request reaches the store', async () => {
    const { service, asked } = await store(['cut', 'cut', 'cut']);
    await service.apply(v3).catch(() => service.close());
    await settle();
    expect(asked).toEqual(['3 whole']);
    expect(service.status().current).toBeUndefined();
  });
});
