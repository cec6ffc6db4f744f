/**
 * A Node device's model update over a flaky link: the ModelUpdater with the Node platform's
 * resumable download (model-download-node.ts), against a real node:http server on 127.0.0.1 that
 * serves the committed digits-tiny with ranges as the edge's listener does and cuts the connection
 * after K bytes on the first try. The retry (the retained manifest again, as on a reconnect) asks
 * for the rest and loads the identical bytes; a partial that is not the file is deleted, never loaded.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteRangeOf, contentRangeOf, encodeDeviceModelManifest } from '@fogline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

/** The edge's file, with ranges; the first `cuts` answers stop after `cutAfter` bytes. */
async function edgeFiles(cutAfter: number, cuts: number) {
  const asked: (string | undefined)[] = [];
  server = createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer dev-1:tok-1') return res.writeHead(401).end();
    asked.push(req.headers.range && `${req.headers.range} if-range ${req.headers['if-range']}`);
    const range = byteRangeOf(
      { range: req.headers.range, ifRange: req.headers['if-range'] },
      TINY.length,
      ETAG,
    );
    const part = range.kind === 'part' ? range : { start: 0, end: TINY.length - 1 };
    const body = TINY.subarray(part.start, part.end + 1);
    res.writeHead(range.kind === 'part' ? 206 : 200, {
      etag: ETAG,
      'content-length': String(body.length),
      ...(range.kind === 'part' && { 'content-range': contentRangeOf(range, TINY.length) }),
    });
    if (cuts-- <= 0) return res.end(body);
    res.write(body.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 100));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/device-models/digits-tiny/2/model.onnx`;
  return { asked, url };
}

/** An updater as a Node device builds it; `load` keeps the bytes it was given. */
function updater() {
  const loaded: Uint8Array[] = [];
  const models: ModelEvent[] = [];
  const errors: ModelErrorEvent[] = [];
  const settings = { edgeId: 'edge-1', deviceId: 'dev-1', token: 'tok-1' };
  const u = new ModelUpdater({
    settings,
    current: () => 'digits-tiny:1',
    load: async (bytes, _config, ref) => {
      loaded.push(bytes);
      const runtime = { close: async () => {} };
      return { runtime, modelVersion: `${ref.model}:${ref.version}` } as unknown as UpdatedModel;
    },
    swap: () => {},
    events: {
      emit: (event: 'model' | 'modelError', e: ModelEvent | ModelErrorEvent) =>
        event === 'model' ? models.push(e as ModelEvent) : errors.push(e as ModelErrorEvent),
    },
    resumable: nodeModelDownloads({ deviceId: 'dev-1', modelDir }),
  });
  return { u, loaded, models, errors };
}

const manifest = (url: string) =>
  encodeDeviceModelManifest({
    edge: 'edge-1',
    model: 'digits-tiny',
    version: 2,
    sha256: SHA,
    bytes: TINY.length,
    url,
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
