/**
 * A Node device's model update over a flaky link: the ModelUpdater with the Node platform's
 * resumable download (model-download-node.ts), against a real node:http server on 127.0.0.1 that
 * serves the committed digits-tiny with ranges as the edge's listener does and cuts the connection
 * after K bytes on the first try, once the device holds them. The retry (the retained manifest again, as on a reconnect) asks
 * for the rest and loads the identical bytes; a partial that is not the file is deleted, never loaded.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackoffOptions, encodeDeviceModelManifest } from '@fogline/shared';
import { cutOnceHeld, fileAnswer } from '@fogline/shared/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodeModelDownloads } from './model-download-node.ts';
import { DEFAULT_MODEL_PATH } from './model-source-node.ts';
import { type ModelErrorEvent, type ModelEvent, ModelUpdater, type UpdatedModel } from './model-updater.ts';

const TINY = readFileSync(DEFAULT_MODEL_PATH);
const SHA = createHash('sha256').update(TINY).digest('hex');
const ETAG = `"${SHA}"`;

let server: Server | undefined;
let modelDir: string;
beforeEach(() => {
  modelDir = mkdtempSync(join(tmpdir(), 'fogline-device-model-dir-'));
});
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(modelDir, { recursive: true, force: true });
});

/**
 * The edge's file, with ranges; the first `cuts` answers stop after `cutAfter` bytes (of what they
 * send), or answer `status` instead when it is given; version 3 answers after `slowMs`. `paths` has
 * the path of every request. `config.json` answers 503 `configFails` times, then `{}`. With
 * `distinct`, each version is another file (fileOf).
 */
async function edgeFiles(
  cutAfter: number,
  cuts: number,
  status?: number,
  slowMs = 0,
  { configFails = 0, distinct = false } = {},
) {
  const asked: (string | undefined)[] = [];
  const paths: string[] = [];
  server = createServer(async (req, res) => {
    if (req.url?.includes('/3/')) await new Promise((resolve) => setTimeout(resolve, slowMs));
    if (req.headers.authorization !== 'Bearer dev-1:tok-1') return res.writeHead(401).end();
    paths.push(req.url ?? '');
    if (req.url?.endsWith('/config.json')) return res.writeHead(configFails-- > 0 ? 503 : 200).end('{}');
    asked.push(req.headers.range && `${req.headers.range} if-range ${req.headers['if-range']}`);
    if (status !== undefined && cuts-- > 0) return res.writeHead(status).end();
    const file = distinct ? fileOf(Number(/\/(\d+)\//.exec(req.url ?? '')?.[1])) : TINY;
    const { status: ok, headers, body } = fileAnswer(req, file, `"${sha(file)}"`);
    res.writeHead(ok, headers);
    if (cuts-- <= 0) return res.end(body);
    const from = ok === 206 ? file.length - body.length : 0;
    // The link breaks once the device holds the bytes sent (cutOnceHeld).
    res.write(body.subarray(0, cutAfter), () => void cutOnceHeld(res, partial(), from + cutAfter));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/device-models/digits-tiny`;
  return { asked, paths, url: `${base}/2/model.onnx`, base };
}

/** Version `v` of the model as another file of the same length (its last byte is `v`). */
const fileOf = (v: number) => Buffer.concat([TINY.subarray(0, -1), Buffer.from([v])]);
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * An updater as a Node device builds it (`whole`: as a browser does, no files); `load` keeps the bytes
 * it was given; `running.model` is the `name:version` answering.
 */
function updater(
  modelRetry?: BackoffOptions,
  onError?: (e: ModelErrorEvent) => void,
  { whole = false, running = { model: 'digits-tiny:1' } } = {},
) {
  const loaded: Uint8Array[] = [];
  const models: ModelEvent[] = [];
  const errors: ModelErrorEvent[] = [];
  const settings = { edgeId: 'edge-1', deviceId: 'dev-1', token: 'tok-1', ...(modelRetry && { modelRetry }) };
  const u = new ModelUpdater({
    settings,
    current: () => running.model,
    load: async (bytes, _config, ref) => {
      loaded.push(bytes);
      const runtime = { close: async () => {} };
      return { runtime, modelVersion: `${ref.model}:${ref.version}` } as unknown as UpdatedModel;
    },
    swap: (m) => {
      running.model = m.modelVersion;
    },
    events: {
      emit: (event: 'model' | 'modelError', e: ModelEvent | ModelErrorEvent) => {
        if (event === 'model') return void models.push(e as ModelEvent);
        errors.push(e as ModelErrorEvent);
        onError?.(e as ModelErrorEvent);
      },
    },
    ...(!whole && { files: nodeModelDownloads({ deviceId: 'dev-1', modelDir }) }),
  });
  return { u, loaded, models, errors };
}

const manifest = (url: string, sha256 = SHA, version = 2, configUrl?: string) =>
  encodeDeviceModelManifest({
    edge: 'edge-1',
    model: 'digits-tiny',
    version,
    sha256,
    bytes: TINY.length,
    url,
    ...(configUrl !== undefined && { config_url: configUrl }),
  });
const partial = () => join(modelDir, 'model.onnx.partial');

describe('a Node device downloads its model update resumably', () => {
  it('a download cut after K bytes resumes on the next try (Range + If-Range) and loads the identical file', async () => {
    const { asked, url } = await edgeFiles(5000, 1);
    const { u, loaded, models, errors } = updater();
    u.receive(manifest(url));
    await u.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^cannot fetch /),
    });
    expect(statSync(partial()).size).toBe(5000);

    // The same retained manifest again (a reconnect): the rest only.
    u.receive(manifest(url));
    await u.idle();
    expect(models).toEqual([{ model: 'digits-tiny:2', previous: 'digits-tiny:1', sha256: SHA }]);
    expect(Buffer.from(loaded[0]!).equals(TINY)).toBe(true);
    expect(asked).toEqual([undefined, `bytes=5000- if-range ${ETAG}`]);
    expect(existsSync(partial())).toBe(false);
    expect(readFileSync(join(modelDir, 'model.onnx')).equals(TINY)).toBe(true);
  });

  it('a partial that is not the file (wrong sha256 at the end) is deleted and nothing is loaded', async () => {
    const { url } = await edgeFiles(5000, 1);
    const { u, loaded, models, errors } = updater();
    u.receive(manifest(url));
    await u.idle();
    const kept = readFileSync(partial());
    kept[100] = kept[100]! ^ 0xff;
    writeFileSync(partial(), kept);
    u.receive(manifest(url));
    await u.idle();
    expect(errors[1]!.error).toMatchObject({
      code: 'INVALID_ARG',
      message: `digits-tiny:2: sha256 ${createHash('sha256')
        .update(Buffer.concat([kept, TINY.subarray(5000)]))
        .digest('hex')} is not the manifest's ${SHA}`,
    });
    expect(loaded).toEqual([]);
    expect(models).toEqual([]);
    expect(existsSync(partial())).toBe(false);
    expect(existsSync(join(modelDir, 'model.onnx'))).toBe(false);
  });
});

describe('a model update whose download failed on the way is tried again on its own', () => {
  const quick = { initialDelayMs: 20, maxDelayMs: 40 };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('two downloads cut after K bytes: retried with backoff, each from where the last stopped, without a new manifest', async () => {
    const { asked, url } = await edgeFiles(3000, 2);
    const { u, loaded, models, errors } = updater(quick);
    u.receive(manifest(url));
    await vi.waitFor(() => expect(models).toHaveLength(1), { timeout: 5000 });
    expect(models).toEqual([{ model: 'digits-tiny:2', previous: 'digits-tiny:1', sha256: SHA }]);
    expect(Buffer.from(loaded[0]!).equals(TINY)).toBe(true);
    expect(asked).toEqual([undefined, `bytes=3000- if-range ${ETAG}`, `bytes=6000- if-range ${ETAG}`]);
    // Each failed try told, with its code and message as before and when it is tried again.
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e.error).toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/^cannot fetch /),
      });
      expect(e.retryInMs).toBeGreaterThanOrEqual(0);
      expect(e.retryInMs).toBeLessThanOrEqual(40);
    }
  });

  it('an HTTP 503 is retried; the model comes without a reconnect', async () => {
    const { asked, url } = await edgeFiles(0, 1, 503);
    const { u, models, errors } = updater(quick);
    u.receive(manifest(url));
    await vi.waitFor(() => expect(models).toHaveLength(1), { timeout: 5000 });
    expect(errors).toMatchObject([{ error: { code: 'UNAVAILABLE', message: `${url}: HTTP 503` } }]);
    expect(errors[0]!.retryInMs).toBeTypeOf('number');
    expect(asked).toEqual([undefined, undefined]);
  });

  it('a permanent failure (another sha256, HTTP 404) is told once and not retried', async () => {
    const { paths, url, base } = await edgeFiles(0, 1, 404);
    const { u, models, errors } = updater(quick);
    u.receive(manifest(`${base}/3/model.onnx`, SHA, 3));
    await u.idle();
    await settle();
    expect(errors).toMatchObject([
      {
        error: { code: 'NOT_FOUND', message: `${base}/3/model.onnx: HTTP 404`, details: { httpStatus: 404 } },
      },
    ]);
    u.receive(manifest(url, 'ab'.repeat(32)));
    await u.idle();
    await settle();
    expect(errors).toHaveLength(2);
    expect(errors[1]!.error.code).toBe('INVALID_ARG');
    expect(errors.map((e) => e.retryInMs)).toEqual([undefined, undefined]);
    expect(paths).toHaveLength(2);
    expect(models).toEqual([]);
  });

  it('an HTTP 403 (fetched whole, as in browsers) is PERMISSION_DENIED, not retried, and tried again on reconnect', async () => {
    const { paths, url } = await edgeFiles(0, 1, 403);
    const { u, models, errors } = updater(quick, undefined, { whole: true });
    u.receive(manifest(url));
    await u.idle();
    await settle();
    expect(errors).toMatchObject([
      { error: { code: 'PERMISSION_DENIED', message: `${url}: HTTP 403`, details: { httpStatus: 403 } } },
    ]);
    expect(errors[0]!.retryInMs).toBeUndefined();
    expect(paths).toHaveLength(1);
    // The retained manifest again (a reconnect): tried once more, as before.
    u.receive(manifest(url));
    await u.idle();
    expect(models).toMatchObject([{ model: 'digits-tiny:2' }]);
  });

  it('a manifest naming "." or ".." as its model is refused (INVALID_ARG): nothing fetched, nothing loaded', async () => {
    const { paths, url } = await edgeFiles(0, 0);
    const { u, loaded, models, errors } = updater(quick);
    for (const model of ['..', '.']) {
      const raw = { ...JSON.parse(new TextDecoder().decode(manifest(url))), model };
      u.receive(new TextEncoder().encode(JSON.stringify(raw)));
    }
    await u.idle();
    const refused = { code: 'INVALID_ARG', message: expect.stringMatching(/"model" must be a model name/) };
    expect(errors).toMatchObject([{ error: refused }, { error: refused }]);
    expect(paths).toEqual([]);
    expect(loaded).toEqual([]);
    expect(models).toEqual([]);
  });

  it('a newer manifest during the backoff drops the retry of the old one', async () => {
    // The newer manifest comes while the first failure's retry waits, and takes longer than that wait.
    const { paths, url, base } = await edgeFiles(3000, 1, undefined, 200);
    const { u, models, errors } = updater(quick, () => u.receive(manifest(`${base}/3/model.onnx`, SHA, 3)));
    u.receive(manifest(url));
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 5000 });
    expect(errors[0]!.retryInMs).toBeTypeOf('number');
    await vi.waitFor(() => expect(models).toHaveLength(1), { timeout: 5000 });
    await settle();
    expect(models).toMatchObject([{ model: 'digits-tiny:3' }]);
    expect(paths).toEqual([
      '/device-models/digits-tiny/2/model.onnx',
      '/device-models/digits-tiny/3/model.onnx',
    ]);
  });

  it('close() during the backoff: no timer left, no further request', async () => {
    const { paths, url } = await edgeFiles(3000, 5);
    const { u, models, errors } = updater(quick, () => u.close());
    u.receive(manifest(url));
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 5000 });
    expect(errors[0]!.retryInMs).toBeTypeOf('number');
    await settle();
    expect(errors).toHaveLength(1);
    expect(paths).toHaveLength(1);
    expect(models).toEqual([]);
  });
});

describe('the files of model updates in modelDir', () => {
  const quick = { initialDelayMs: 20, maxDelayMs: 40 };
  const configOf = (base: string, version: number) => `${base}/${version}/config.json`;
  const files = () => readdirSync(modelDir).sort();

  it('the config fails after the model file came: the retry fetches the config only; a kept file that changed on disk is downloaded again', async () => {
    const { paths, url, base } = await edgeFiles(0, 0, undefined, 0, { configFails: 2 });
    const { u, loaded, models, errors } = updater(quick, () => {
      // After the second failure, the kept file is no longer the manifest's (same length).
      if (errors.length === 2) writeFileSync(join(modelDir, 'model.onnx'), fileOf(9));
    });
    u.receive(manifest(url, SHA, 2, configOf(base, 2)));
    await vi.waitFor(() => expect(models).toHaveLength(1), { timeout: 5000 });
    const model = '/device-models/digits-tiny/2/model.onnx';
    const config = '/device-models/digits-tiny/2/config.json';
    expect(paths).toEqual([model, config, config, model, config]);
    expect(errors.map((e) => e.error.message)).toEqual([
      `${configOf(base, 2)}: HTTP 503`,
      `${configOf(base, 2)}: HTTP 503`,
    ]);
    expect(loaded).toHaveLength(1);
    expect(Buffer.from(loaded[0]!).equals(TINY)).toBe(true);
    expect(files()).toEqual(['model.onnx']);
  });

  it('versions 2 and 3 cut on the way, then 4, which the device already runs: no partial and no older file is left', async () => {
    const { base } = await edgeFiles(3000, 2, undefined, 0, { distinct: true });
    const at = (v: number) => manifest(`${base}/${v}/model.onnx`, sha(fileOf(v)), v);
    const running = { model: 'digits-tiny:1' };
    const { u, models } = updater(
      quick,
      (e) => {
        if (e.model === 'digits-tiny:2') return u.receive(at(3));
        running.model = 'digits-tiny:4'; // restarted with version 4 (its own copy)
        u.receive(at(4));
      },
      { running },
    );
    u.receive(at(2));
    await u.idle();
    await vi.waitFor(() => expect(running.model).toBe('digits-tiny:4'));
    await u.idle();
    expect(models).toEqual([]);
    expect(files()).toEqual([]);
  });

  it('the manifest of the model answering drops an update still waiting: the device ends on the one announced last', async () => {
    const { paths, base } = await edgeFiles(0, 0, undefined, 200, { distinct: true });
    const at = (v: number) => manifest(`${base}/${v}/model.onnx`, sha(fileOf(v)), v);
    const { u, models } = updater(quick);
    u.receive(at(3)); // answered after 200 ms
    u.receive(at(2)); // waits for 3
    u.receive(at(1)); // the edge is back on the device's own version
    await u.idle();
    expect(models.map((m) => m.model)).toEqual(['digits-tiny:3', 'digits-tiny:1']);
    expect(paths).toEqual([
      '/device-models/digits-tiny/3/model.onnx',
      '/device-models/digits-tiny/1/model.onnx',
    ]);
  });

  it('the file of the model answering is kept; an older one goes once the device runs a newer one', async () => {
    const { base } = await edgeFiles(0, 0, undefined, 0, { distinct: true });
    const at = (v: number) => manifest(`${base}/${v}/model.onnx`, sha(fileOf(v)), v);
    const first = updater(quick);
    first.u.receive(at(2));
    await first.u.idle();
    expect(first.models).toMatchObject([{ model: 'digits-tiny:2' }]);
    // Restarted, answering with the version 2 it downloaded: the edge still announces it.
    const again = updater(quick, undefined, { running: { model: 'digits-tiny:2' } });
    again.u.receive(at(2));
    await again.u.idle();
    expect(readFileSync(join(modelDir, 'model.onnx')).equals(fileOf(2))).toBe(true);
    // Restarted with version 4 of its own, which the edge now announces: version 2's file goes.
    const newer = updater(quick, undefined, { running: { model: 'digits-tiny:4' } });
    newer.u.receive(at(4));
    await newer.u.idle();
    expect(files()).toEqual([]);
  });
});
