/**
 * The cloud gateway serving models whose tensors are not FP32 (docs/cloud.md): OIP model metadata with
 * fogline's additive parameters (tier, output_kind, labels, per-tensor quantization) that an edge reads
 * before escalating, and HTTP inference of UINT8 and FP16 inputs in binary bodies (UINT8 in JSON too),
 * answered with the output's own datatype, equal to onnxruntime run directly. FP16 in JSON is refused
 * with one clear line, as Triton does. Real HTTP on 127.0.0.1, real onnxruntime.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import {
  BINARY_CONTENT_TYPE,
  decodeInferBody,
  encodeInferBody,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type Tensor,
  type TensorData,
  toRealValues,
} from '@fogline/shared';
import { runTypedClassifier, type TypedClassifier, typedRepository } from '@fogline/toolchain/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const labels = ['a', 'b', 'c'];
const sample = [2, 3];
const U8: TypedClassifier = {
  name: 'u8-probs',
  tier: 'cloud',
  input: { name: 'pixels', datatype: 'UINT8', quantization: { scale: 0.01, zero_point: 10 } },
  output: { name: 'probs', datatype: 'INT8', quantization: { scale: 1 / 256, zero_point: -128 } },
  outputKind: 'probabilities',
  sample,
  classes: labels.length,
  labels,
  seed: 5,
};
const HALF: TypedClassifier = {
  ...U8,
  name: 'half-logits',
  input: { name: 'pixels', datatype: 'FP16' },
  output: { name: 'logits', datatype: 'FP16' },
  outputKind: 'logits',
  seed: 6,
};
const dir = typedRepository([U8, HALF]);
let server: CloudServer;

beforeAll(async () => {
  server = new CloudServer({
    httpPort: 0,
    host: '127.0.0.1',
    mqttPort: null,
    dataDir: join(dir, 'data'),
    modelsDir: dir,
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
  });
  await server.start();
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function inferBinary(model: string, input: Tensor) {
  const { body, headerLength } = encodeInferBody({ id: 'r1', parameters: { binary_data_output: true } }, [
    input,
  ]);
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': BINARY_CONTENT_TYPE, [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength) },
    body: Buffer.from(body),
  });
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const decoded = decodeInferBody(bytes, Number(res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH)));
  return decoded.tensors[0]!;
}

const u8Input = Uint8Array.of(0, 10, 50, 120, 200, 255);
const halfInput = Uint16Array.of(0x3c00, 0xb800, 0x3555, 0x0000, 0x4000, 0xbc00); // 1, -0.5, 0.333, 0, 2, -1

describe('typed models on the cloud gateway', () => {
  it('describes each model with OIP metadata plus tier, output_kind, labels and quantization', async () => {
    const res = await fetch(`${server.url}/v2/models/${U8.name}`);
    expect(await res.json()).toEqual({
      name: U8.name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        {
          name: 'pixels',
          datatype: 'UINT8',
          shape: [-1, 2, 3],
          parameters: { quantization: { scale: 0.01, zero_point: 10 } },
        },
      ],
      outputs: [
        {
          name: 'probs',
          datatype: 'INT8',
          shape: [-1, 3],
          parameters: { quantization: { scale: 1 / 256, zero_point: -128 } },
        },
      ],
      parameters: { tier: 'cloud', output_kind: 'probabilities', labels },
    });
    const half = await (await fetch(`${server.url}/v2/models/${HALF.name}`)).json();
    expect(half.inputs[0]).toEqual({ name: 'pixels', datatype: 'FP16', shape: [-1, 2, 3] });
    expect(half.parameters.output_kind).toBe('logits');
  });

  it('infers a UINT8 input in a binary body and answers its INT8 output as onnxruntime does', async () => {
    const out = await inferBinary(U8.name, {
      name: 'pixels',
      datatype: 'UINT8',
      shape: [1, 2, 3],
      data: u8Input,
    });
    expect(out).toMatchObject({ name: 'probs', datatype: 'INT8', shape: [1, 3] });
    expect(Array.from(out.data as Int8Array)).toEqual(
      Array.from((await runTypedClassifier(dir, U8, u8Input)) as Int8Array),
    );
  });

  it('infers a UINT8 input sent as JSON numbers, answering in JSON', async () => {
    const res = await fetch(`${server.url}/v2/models/${U8.name}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 2, 3], data: Array.from(u8Input) }],
      }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    const direct = (await runTypedClassifier(dir, U8, u8Input)) as Int8Array;
    expect(body.outputs[0]).toMatchObject({
      name: 'probs',
      datatype: 'INT8',
      shape: [1, 3],
      data: Array.from(direct),
    });
  });

  it('infers an FP16 input in a binary body and answers FP16 half bits, even when JSON output is asked', async () => {
    const out = await inferBinary(HALF.name, {
      name: 'pixels',
      datatype: 'FP16',
      shape: [1, 2, 3],
      data: halfInput,
    });
    expect(out).toMatchObject({ name: 'logits', datatype: 'FP16', shape: [1, 3] });
    const direct = (await runTypedClassifier(dir, HALF, halfInput)) as Uint16Array;
    expect(Array.from(out.data as Uint16Array)).toEqual(Array.from(direct));
    expect(toRealValues(out.data as TensorData, { datatype: 'FP16' }).every(Number.isFinite)).toBe(true);

    // A JSON request body with the input binary and no binary output asked: FP16 still comes back binary.
    const { body, headerLength } = encodeInferBody({ id: 'r2' }, [
      { name: 'pixels', datatype: 'FP16', shape: [1, 2, 3], data: halfInput },
    ]);
    const res = await fetch(`${server.url}/v2/models/${HALF.name}/infer`, {
      method: 'POST',
      headers: {
        'content-type': BINARY_CONTENT_TYPE,
        [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength),
      },
      body: Buffer.from(body),
    });
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const decoded = decodeInferBody(bytes, Number(res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH)));
    expect(Array.from(decoded.tensors[0]!.data as Uint16Array)).toEqual(Array.from(direct));
  });

  it('refuses FP16 as JSON numbers, and an input of another datatype than the model’s, in one clear line', async () => {
    const json = (model: string, input: unknown) =>
      fetch(`${server.url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [input] }),
      });
    const half = await json(HALF.name, {
      name: 'pixels',
      datatype: 'FP16',
      shape: [1, 2, 3],
      data: [1, 2, 3, 4, 5, 6],
    });
    expect(half.status).toBe(400);
    expect((await half.json()).error).toMatch(/FP16 has no JSON representation; send it as binary data/);
    const float = await json(U8.name, {
      name: 'pixels',
      datatype: 'FP32',
      shape: [1, 2, 3],
      data: [0, 0, 0, 0, 0, 0],
    });
    expect(float.status).toBe(400);
    expect((await float.json()).error).toBe(
      'model "u8-probs": input "pixels" has datatype FP32, the model expects UINT8',
    );
  });
});
