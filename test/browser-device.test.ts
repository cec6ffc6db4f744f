/**
 * The browser entry of the device SDK in a real Chromium (Debian's, driven by playwright-core):
 * MQTT over WebSocket to a fogline broker attached to an HTTP server at /mqtt, the tiny model on
 * onnxruntime-web (WASM), escalation answered by a hand-written edge responder.
 * Models other than digits too: a UINT8 model fed raw RGBA pixels (as a canvas gives them) and an
 * FP16 model, their config.json fetched by URL, answering as the Node SDK does on the same input.
 * Model updates: the edge's device file listener (cross-origin, device credentials) serves a new
 * version announced on the manifest topic; the browser device swaps to it, and refuses a bad sha256.
 * The global setup finds Chromium or installs it (test/chromium.ts); never skipped: without it
 * the suite fails with one line saying what to run.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDevice } from '@fogline/device-sdk';
import {
  type EdgeResponder,
  HALF_FP16,
  PIXELS_UINT8,
  startEdgeResponder,
  writeTypedClassifier,
} from '@fogline/device-sdk/testing';
import {
  type AuditBody,
  encodeDeviceModelManifest,
  readAuditBody,
  readDeviceReport,
  topics,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDeviceFileServer } from '../edge-agent/src/device-models/device-file-server.ts';
import { PAGE_SCRIPT, type PageApi, type PageInput, TYPES } from './support/browser-page.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
/** An 8×6 RGBA test image (a canvas' ImageData layout). */
const RGBA = { rgba: Array.from({ length: 8 * 6 * 4 }, (_, i) => (i * 53) % 256), width: 8, height: 6 };

describe('device SDK in a browser', () => {
  let http: Server;
  let broker: FoglineBroker;
  let responder: EdgeResponder;
  let browser: Browser;
  let origin: string;
  let repo: string;
  /** Feedback reports the browser device sent, as the edge would read them. */
  const feedback: AuditBody[] = [];

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), 'fogline-browser-models-'));
    for (const spec of [PIXELS_UINT8, HALF_FP16]) await writeTypedClassifier(repo, spec);
    const chromiumLookup = inject('chromium');
    if ('missing' in chromiumLookup) throw new Error(chromiumLookup.missing);
    const bundle = await build({
      stdin: { contents: PAGE_SCRIPT, resolveDir: root, loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const bundleText = bundle.outputFiles[0]!.text;
    http = createServer(async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      let file: string | undefined;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<!doctype html><script type="module" src="/bundle.js"></script>');
      }
      if (path === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end(bundleText);
      }
      if (path.startsWith('/models/'))
        file = join(DEFAULT_MODELS_DIR, normalize(path.slice('/models/'.length)));
      if (path.startsWith('/ort/')) file = join(ortDist, normalize(path.slice('/ort/'.length)));
      if (path.startsWith('/repo/')) file = join(repo, normalize(path.slice('/repo/'.length)));
      try {
        const body = await readFile(file ?? '/nonexistent');
        res.writeHead(200, { 'content-type': TYPES[extname(file!)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    broker = await createBroker({
      mqttPort: 0,
      httpServer: http,
      resolveIdentity: async (id, token) => {
        if (id === 'agent-b' && token === 'tok-agent') return { kind: 'service', id, edgeId: 'edge-b' };
        if (id === 'browser-1' && token === 'tok-browser') return { kind: 'device', id, edgeId: 'edge-b' };
        return null;
      },
    });
    const { mqttPort } = await broker.listen();
    broker.aedes.subscribe(
      topics.allReports,
      (packet, done) => {
        const reading = readDeviceReport(packet.payload as Uint8Array);
        if (reading.ok && reading.report.kind === 'feedback') {
          const body = readAuditBody(reading.report.body);
          if (body.ok) feedback.push(body.audit);
        }
        done();
      },
      () => {},
    );
    responder = await startEdgeResponder({
      url: `mqtt://127.0.0.1:${mqttPort}`,
      edgeId: 'edge-b',
      clientId: 'agent-b',
      token: 'tok-agent',
    });
    browser = await chromium.launch({
      executablePath: chromiumLookup.path,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await responder?.close();
    await broker?.close();
    if (http) await new Promise((r) => http.close(r));
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  const deviceOptions = () => ({
    broker: `${origin.replace('http', 'ws')}/mqtt`,
    deviceId: 'browser-1',
    token: 'tok-browser',
    edgeId: 'edge-b',
  });

  it('runs the tiny model on WASM and escalates over MQTT/WebSocket', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(origin);
    await page.waitForFunction(() => 'runDevice' in window);
    const pixels = Array.from({ length: 784 }, (_, i) => (i % 28 > 10 && i % 28 < 16 ? 1 : 0));
    const local = await page.evaluate(
      ([options, px]) =>
        (window as unknown as PageApi).runDevice(
          { ...options, policy: { score: 'maxprob', threshold: 0 } },
          px,
        ),
      [deviceOptions(), pixels] as const,
    );
    expect(local).toMatchObject({ tier: 'device', degraded: false, logits: 10, outputKind: 'logits' });
    // The labels come from digits-tiny's config.json, fetched next to the model URL.
    expect(local.labelName).toBe(String(local.label));
    // device.feedback works in the browser build: the label, by name, reaches the broker as a
    // feedback report carrying the request's input.
    expect(local.feedback).toEqual({ given: true, sent: 1 });
    await expect.poll(() => feedback.length).toBe(1);
    expect(feedback[0]).toMatchObject({ source: 'feedback', label: 3, rate: 1, tier: 'device' });
    expect(feedback[0]!.input.shape).toEqual([1, 1, 28, 28]);
    responder.label = 6;
    const escalated = await page.evaluate(
      ([options, px]) =>
        (window as unknown as PageApi).runDevice(
          { ...options, policy: { score: 'maxprob', threshold: 1 } },
          px,
        ),
      [deviceOptions(), pixels] as const,
    );
    expect(escalated).toMatchObject({ tier: 'edge', label: 6, labelName: '6', degraded: false });
    // Without a policy option, the browser fetched the model's config.json for it.
    const configured = await page.evaluate(
      ([options, px]) => (window as unknown as PageApi).runDevice(options, px),
      [deviceOptions(), pixels] as const,
    );
    expect(configured.policy.score).toBe('margin');
    await page.close();
  });

  /** The same input through the Node SDK (onnxruntime-node) on the same files, answering locally. */
  async function nodeAnswer(spec: typeof PIXELS_UINT8, input: PageInput) {
    const device = await connectDevice({
      broker: `mqtt://127.0.0.1:1`,
      deviceId: 'node-ref',
      edgeId: 'edge-b',
      model: join(repo, spec.name, '1', 'model.onnx'),
      policy: { score: 'maxprob', threshold: 0 },
      connectTimeoutMs: 100,
    });
    try {
      return await device.infer(
        'values' in input
          ? Float32Array.from(input.values)
          : {
              image: {
                data: Uint8Array.from(input.rgba),
                width: input.width,
                height: input.height,
                channels: 4,
              },
            },
      );
    } finally {
      await device.close();
    }
  }

  it('runs a UINT8 model on raw RGBA pixels, escalating the UINT8 tensor', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(origin);
    await page.waitForFunction(() => 'runModel' in window);
    const run = (policy: object) =>
      page.evaluate(
        ([options, input]) =>
          (window as unknown as PageApi).runModel(options, '/repo/shapes-u8/1/model.onnx', input),
        [{ ...deviceOptions(), policy }, RGBA] as const,
      );
    const local = await run({ score: 'maxprob', threshold: 0 });
    const reference = await nodeAnswer(PIXELS_UINT8, RGBA);
    expect(local).toMatchObject({ tier: 'device', outputKind: 'logits', label: reference.label });
    expect(local.labelName).toBe(reference.labelName);
    expect(['circle', 'square', 'triangle', 'star']).toContain(local.labelName);
    responder.classes = 4;
    responder.label = 3;
    const before = responder.received.length;
    const escalated = await run({ score: 'maxprob', threshold: 1 });
    expect(escalated).toMatchObject({ tier: 'edge', label: 3, labelName: 'star' });
    const request = responder.received[before]!;
    expect(request.input).toMatchObject({ name: 'pixels', datatype: 'UINT8', shape: [1, 3, 8, 8] });
    expect(request.inputQuantization).toEqual(PIXELS_UINT8.input.quantization);
    await page.close();
  });

  it('runs an FP16 model like onnxruntime-node does', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(origin);
    await page.waitForFunction(() => 'runModel' in window);
    const input = { values: Array.from({ length: 36 }, (_, i) => Math.cos(i * 0.7)) };
    const answer = await page.evaluate(
      ([options, values]) =>
        (window as unknown as PageApi).runModel(options, '/repo/half-fp16/1/model.onnx', values),
      [{ ...deviceOptions(), policy: { score: 'maxprob', threshold: 0 } }, input] as const,
    );
    const reference = await nodeAnswer(HALF_FP16, input);
    expect(answer).toMatchObject({ tier: 'device', label: reference.label, labelName: reference.labelName });
    expect(answer.logits).toHaveLength(3);
    for (let k = 0; k < 3; k++) expect(answer.logits[k]).toBeCloseTo(reference.outputs.logits[k]!, 2);
    await page.close();
  });

  it('reports a refused token with a clear error', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(origin);
    await page.waitForFunction(() => 'tryBadToken' in window);
    const outcome = await page.evaluate((options) => (window as unknown as PageApi).tryBadToken(options), {
      ...deviceOptions(),
      token: 'wrong',
    });
    expect(outcome).toMatch(/^UNAUTHENTICATED: .*browser-1.*bad user name or password/);
    await page.close();
  });

  // Last: the retained manifest would update the devices of the tests above.
  it('takes the model its edge serves over CORS with its credentials, and keeps its own on a bad one', {
    timeout: 90_000,
  }, async () => {
    const tiny = join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx');
    const bytes = await readFile(tiny);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    let served = { model: 'digits-tiny', version: 2, path: tiny };
    const files = await startDeviceFileServer(
      { port: 0, host: '127.0.0.1' },
      async (id, token) => id === 'browser-1' && token === 'tok-browser',
      () => served,
    );
    const base = `http://127.0.0.1:${files.port}/device-models/digits-tiny`;
    const announce = (payload: Uint8Array) =>
      new Promise<void>((ok, fail) =>
        broker.aedes.publish(
          {
            cmd: 'publish',
            topic: topics.deviceModel('edge-b'),
            payload: Buffer.from(payload),
            qos: 1,
            retain: true,
            dup: false,
          },
          (err) => (err ? fail(err) : ok()),
        ),
      );
    const manifest = (version: number, sha: string) =>
      encodeDeviceModelManifest({
        edge: 'edge-b',
        model: 'digits-tiny',
        version,
        sha256: sha,
        bytes: bytes.length,
        url: `${base}/${version}/model.onnx`,
      });
    const page = await browser.newPage();
    try {
      await page.goto(origin);
      await page.waitForFunction(() => 'runUpdate' in window);
      const pixels = Array.from({ length: 784 }, (_, i) => (i % 28 > 10 && i % 28 < 16 ? 1 : 0));
      const run = () =>
        page.evaluate(
          ([options, px]) =>
            (window as unknown as PageApi).runUpdate(
              { ...options, policy: { score: 'maxprob', threshold: 0 } },
              px,
            ),
          [deviceOptions(), pixels] as const,
        );
      await announce(manifest(2, sha256));
      const updated = await run();
      expect(updated).toEqual({
        event: { kind: 'model', model: 'digits-tiny:2', previous: 'digits-tiny:1' },
        modelVersions: 'digits-tiny:2',
        tier: 'device',
        model: 'digits-tiny:2',
      });

      served = { model: 'digits-tiny', version: 3, path: tiny };
      await announce(manifest(3, 'f'.repeat(64)));
      const refused = await run();
      expect(refused).toMatchObject({
        event: { kind: 'modelError', model: 'digits-tiny:3', current: 'digits-tiny:1' },
        modelVersions: 'digits-tiny:1',
        model: 'digits-tiny:1',
      });
      expect(refused.event.message).toMatch(/sha256 [0-9a-f]{64} is not the manifest's f{64}/);
    } finally {
      await page.close();
      await announce(new Uint8Array(0));
      await files.close();
    }
  });
});
