/**
 * Test fixtures for the cloud tier: a throw-away model repository built from the committed models,
 * a CloudServer on 127.0.0.1 port 0 with a temporary data dir, and OIP request builders.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditUpload, InferRequestHeader, Parameters } from '@fogline/shared';
import { encodeInferBody } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { CloudOptions } from '../cloud-options.ts';
import { type CloudReady, CloudServer } from '../cloud-server.ts';

/** A fresh folder in `os.tmpdir()` (under test, the run's own folder: test/global-setup.ts). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fogline-${prefix}-`));
}

/** A repository holding `models` (copied configs and model files), in a tempDir. */
export function makeModelRepo(models: readonly string[]): string {
  const dir = tempDir('models');
  for (const name of models) addModel(dir, name);
  return dir;
}

/** Copies the committed `from` model (config and version 1) into `repoDir` as `name`/`version`. */
export function addModel(repoDir: string, name: string, version = 1, from = name): void {
  mkdirSync(join(repoDir, name, String(version)), { recursive: true });
  cpSync(join(DEFAULT_MODELS_DIR, from, 'config.json'), join(repoDir, name, 'config.json'));
  cpSync(
    join(DEFAULT_MODELS_DIR, from, '1', 'model.onnx'),
    join(repoDir, name, String(version), 'model.onnx'),
  );
}

export interface RunningCloud {
  server: CloudServer;
  ready: CloudReady;
  url: string;
  adminToken: string;
  dataDir: string;
  createKey(name: string, ratePerSec?: number, burst?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a CloudServer on 127.0.0.1:0 with a fresh data dir; `stop()` also removes the dir. */
export async function startCloud(options: Partial<CloudOptions> = {}): Promise<RunningCloud> {
  const dataDir = options.dataDir ?? tempDir('data');
  const server = new CloudServer(
    { httpPort: 0, host: '127.0.0.1', mqttPort: null, shutdownTimeoutMs: 3000, ...options, dataDir },
    (err) => console.error('cloud internal error', err),
  );
  const ready = await server.start();
  const adminToken = ready.adminToken.token;
  const url = ready.http.url;
  return {
    server,
    ready,
    url,
    adminToken,
    dataDir,
    async createKey(name, ratePerSec = 10_000, burst = 10_000) {
      const res = await fetch(`${url}/api/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ name, ratePerSec, burst }),
      });
      if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `count` test-split digits as one Float32Array of count*784 pixels, with their labels. */
export function digits(count: number, offset = 0): { images: Float32Array; labels: number[] } {
  const data = loadDigits('test');
  const images = data.images.slice(offset * DIGIT_PIXELS, (offset + count) * DIGIT_PIXELS);
  return { images, labels: Array.from(data.labels.subarray(offset, offset + count)) };
}

/**
 * An edge's upload of `count` device-answered audits of digits-large, audit k on `image(k)` (one
 * 28×28 sample, or `shapeOf(k)`), without the edge's answer or inputs kept.
 */
export function auditUploadOf(
  count: number,
  image: (k: number) => Float32Array,
  shapeOf: (k: number) => number[] = () => [1, 1, 28, 28],
): AuditUpload {
  return {
    cloudModel: 'digits-large',
    keepInputs: false,
    audits: Array.from({ length: count }, (_, k) => ({
      deviceId: 'dev-1',
      audit: {
        id: `req-${k}`,
        time: Date.now(),
        rate: 0.02,
        model: 'digits-tiny:1',
        input: { name: 'input', datatype: 'FP32', shape: shapeOf(k), data: image(k) },
        deviceOutputs: Array.from({ length: 10 }, () => 0),
        deviceScore: 0.3,
        tier: 'device',
      },
      edge: null,
    })),
  };
}

/** An OIP JSON request body for `images` (batch = images.length / 784). */
export function jsonInferBody(
  images: Float32Array,
  extra: { id?: string; parameters?: Parameters; outputs?: { name: string; parameters?: Parameters }[] } = {},
): string {
  const batch = images.length / DIGIT_PIXELS;
  return JSON.stringify({
    ...extra,
    inputs: [{ name: 'image', shape: [batch, 1, 28, 28], datatype: 'FP32', data: Array.from(images) }],
  });
}

/** An OIP binary request (Triton binary tensor extension): body plus its headers. */
export function binaryInferRequest(
  images: Float32Array,
  header: InferRequestHeader = { parameters: { binary_data_output: true } },
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const batch = images.length / DIGIT_PIXELS;
  const { body, headerLength } = encodeInferBody(header, [
    { name: 'image', datatype: 'FP32', shape: [batch, 1, 28, 28], data: images },
  ]);
  return {
    body: body as Uint8Array<ArrayBuffer>,
    headers: {
      'inference-header-content-length': String(headerLength),
      'content-type': 'application/octet-stream',
    },
  };
}

/** Decodes the FP32 `logits` of a binary or JSON infer response. */
export async function logitsOf(
  res: Response,
): Promise<{ logits: number[]; shape: number[]; header: unknown }> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length') ?? bytes.length);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength))) as {
    outputs: { name: string; shape: number[]; data?: number[]; parameters?: { binary_data_size?: number } }[];
  };
  const out = header.outputs.find((o) => o.name === 'logits');
  if (!out) throw new Error(`no logits in ${JSON.stringify(header)}`);
  if (out.data) return { logits: out.data, shape: out.shape, header };
  const raw = bytes.slice(headerLength, headerLength + out.parameters!.binary_data_size!);
  return { logits: Array.from(new Float32Array(raw.buffer)), shape: out.shape, header };
}

export function argmaxRows(logits: readonly number[], classes = 10): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out.push(best);
  }
  return out;
}
