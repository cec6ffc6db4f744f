/**
 * The browser entry of the device SDK in a real Chromium (Debian's, driven by playwright-core):
 * MQTT over WebSocket to a fogline broker attached to an HTTP server at /mqtt, the tiny model on
 * onnxruntime-web (WASM), escalation answered by a hand-written edge responder.
 * The global setup finds Chromium or installs it (test/chromium.ts); never skipped: without it
 * the suite fails with one line saying what to run.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EdgeResponder, startEdgeResponder } from '@fogline/device-sdk/testing';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.html': 'text/html',
};

/** What the page script puts on `window`. */
interface PageApi {
  runDevice(
    options: object,
    pixels: readonly number[],
  ): Promise<{ tier: string; label: number; degraded: boolean; logits: number; policy: { score: string } }>;
  tryBadToken(options: object): Promise<string>;
}

/** The page script: the browser entry, exposed as window.runDevice. */
const PAGE_SCRIPT = `
import { connectDevice } from '@fogline/device-sdk/browser';
window.runDevice = async (options, pixels) => {
  const device = await connectDevice({ ...options, model: new URL('/models/digits-tiny/1/model.onnx', location.href), web: { wasmPaths: '/ort/' } });
  try {
    const r = await device.infer(Float32Array.from(pixels), { deadlineMs: 5000 });
    return { tier: r.tier, label: r.label, degraded: r.degraded, logits: r.outputs.logits.length, policy: device.policy };
  } finally {
    await device.close();
  }
};
window.tryBadToken = (options) => connectDevice({ ...options, model: new URL('/models/digits-tiny/1/model.onnx', location.href), web: { wasmPaths: '/ort/' } })
  .then(() => 'connected', (e) => e.code + ': ' + e.message);
`;

describe('device SDK in a browser', () => {
  let http: Server;
  let broker: FoglineBroker;
  let responder: EdgeResponder;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
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
    expect(local).toMatchObject({ tier: 'device', degraded: false, logits: 10 });
    responder.label = 6;
    const escalated = await page.evaluate(
      ([options, px]) =>
        (window as unknown as PageApi).runDevice(
          { ...options, policy: { score: 'maxprob', threshold: 1 } },
          px,
        ),
      [deviceOptions(), pixels] as const,
    );
    expect(escalated).toMatchObject({ tier: 'edge', label: 6, degraded: false });
    // Without a policy option, the browser fetched the model's config.json for it.
    const configured = await page.evaluate(
      ([options, px]) => (window as unknown as PageApi).runDevice(options, px),
      [deviceOptions(), pixels] as const,
    );
    expect(configured.policy.score).toBe('margin');
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
});
