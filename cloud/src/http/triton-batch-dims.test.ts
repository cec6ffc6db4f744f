/**
 * Which input dims a model can be served with, one rule for local models and models served elsewhere
 * (shared/src/runtime/batchable-inputs.ts), against a real CloudServer on a socket: an ONNX file whose
 * batch dim is fixed at 1 serves with max_batch_size 1 only (config.json, `--max-batch-size` or a load
 * config cannot raise it: Triton refuses max_batch_size > 0 unless the first dim is -1), a batch dim
 * fixed past 1 is refused, and a remote model whose metadata has a variable non-batch dim is refused
 * at load as a local one is. The remote is a plain HTTP server answering OIP model metadata as a
 * Triton serving a variable-length model would (no Triton here).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TypedClassifier, writeTypedClassifier } from '@fogline/toolchain/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCloud, startCloud, tempDir } from '../testing/cloud-fixture.ts';
import { jsonOf, rawRequest } from '../testing/raw-http.ts';

const fixed = (name: string, batch: number, extraConfig?: Record<string, unknown>): TypedClassifier => ({
  name,
  tier: 'cloud',
  input: { name: 'pixels', datatype: 'FP32' },
  output: { name: 'logits', datatype: 'FP32' },
  sample: [2, 3],
  classes: 3,
  batch,
  ...(extraConfig && { extraConfig }),
});
/** Batch dim fixed at 1 in the ONNX file; config.json says so and serves it unbatched. */
const ONE = fixed('fixed-one', 1, {
  max_batch_size: 1,
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 2, 3] }],
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 3] }],
});

let cloud: RunningCloud;
let remote: Server;

const send = (method: string, path: string, body?: string) => rawRequest(cloud.url, method, path, body);
const load = (model: string, config?: Record<string, unknown>) =>
  send(
    'POST',
    `/v2/repository/models/${model}/load`,
    JSON.stringify(config ? { parameters: { config: JSON.stringify(config) } } : {}),
  );

beforeAll(async () => {
  // OIP model metadata of a remote model taking sequences of any length (Triton shows the batch dim -1).
  remote = createServer((req, res) => {
    const metadata = {
      name: 'varlen',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'tokens', datatype: 'FP32', shape: [-1, -1] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
    };
    res.writeHead(req.url === '/v2/models/varlen' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url === '/v2/models/varlen' ? metadata : { error: 'not found' }));
  });
  await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
  const repo = tempDir('models');
  // The same ONNX file, fixed at 1, that config.json says batches up to 8 (its dims say -1).
  writeTypedClassifier(repo, fixed('fixed-one-batched', 1));
  writeTypedClassifier(repo, ONE);
  writeTypedClassifier(repo, fixed('fixed-four', 4, { max_batch_size: 4 }));
  const { port } = remote.address() as AddressInfo;
  mkdirSync(`${repo}/varlen`);
  writeFileSync(
    `${repo}/varlen/config.json`,
    JSON.stringify({
      name: 'varlen',
      tier: 'cloud',
      max_batch_size: 4,
      backend: { kind: 'oip', url: `http://127.0.0.1:${port}`, model: 'varlen', timeout_ms: 2000 },
    }),
  );
  cloud = await startCloud({ modelsDir: repo, auth: false, serving: { workers: 1, intraOpThreads: 1 } });
});
afterAll(async () => {
  await cloud?.stop();
  await new Promise((resolve) => remote?.close(resolve));
});

describe('batch dims at load (local ONNX models)', () => {
  it('refuses an ONNX file whose batch dim is fixed at 1 when max_batch_size is past 1, naming model, input and dims', async () => {
    const res = await load('fixed-one-batched');
    expect(res.status).toBe(400);
    expect(jsonOf(res).error).toBe(
      'model "fixed-one-batched": input "pixels" has a batch dim fixed at 1 [1,2,3] (fixed-one-batched/1/model.onnx) but max_batch_size is 8; serve it with max_batch_size 1 or export an open batch dim (-1)',
    );
  });

  it('serves it unbatched with max_batch_size 1, and refuses a load config that raises it', async () => {
    const infer = () =>
      send(
        'POST',
        '/v2/models/fixed-one/infer',
        JSON.stringify({
          inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 2, 3], data: [1, 2, 3, 4, 5, 6] }],
        }),
      );
    expect((await infer()).status).toBe(200);
    const res = await load('fixed-one', { max_batch_size: 4 });
    expect(res.status).toBe(400);
    expect(jsonOf(res).error).toMatch(
      /^model "fixed-one": input "pixels" has a batch dim fixed at 1 \[1,2,3\] \(config\.json\) but max_batch_size is 4;/,
    );
    expect((await infer()).status).toBe(200);
  });

  it('refuses a batch dim fixed past 1', async () => {
    const res = await load('fixed-four');
    expect(res.status).toBe(400);
    expect(jsonOf(res).error).toMatch(
      /^model "fixed-four": input "pixels" has a batch dim fixed at 4 \[4,2,3\] .*need an open batch dim \(-1\)$/,
    );
  });
});

describe('dims at load (a model served elsewhere)', () => {
  it('refuses a variable non-batch dim in its remote metadata, as for a local model', async () => {
    const res = await load('varlen');
    expect(res.status).toBe(400);
    expect(jsonOf(res).error).toMatch(
      /^model "varlen": input "tokens" has a variable non-batch dim \[-1,-1\] \(the metadata of remote model "varlen" at http:\/\/127\.0\.0\.1:\d+\); dynamic batching needs fixed sample shapes$/,
    );
    const index = jsonOf(await send('POST', '/v2/repository/index', '{}')) as {
      name: string;
      state: string;
    }[];
    expect(index.find((m) => m.name === 'varlen')?.state).toBe('UNAVAILABLE');
  });
});
