/** Bad inputs to the quantizer fail with an INVALID_ARG that names the problem. */

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { targetOfInput } from '../dataset/dataset.ts';
import { loadDataset } from '../dataset/load-dataset.ts';
import { decodeModel, encodeModel } from '../onnx/codec.ts';
import { attrInt, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor } from '../onnx/tensor.ts';
import { type QuantizeOptions, quantizeModel } from './quantize-model.ts';

const DYNAMIC: QuantizeOptions = {
  mode: 'dynamic',
  perChannel: true,
  reduceRange: true,
  method: 'minmax',
  percentile: 99.99,
};

function gemm(opset = 17): OnnxModel {
  return buildModel({
    opset,
    inputs: [tensorValueInfo('x', DataType.FLOAT, ['N', 4])],
    outputs: [tensorValueInfo('y', DataType.FLOAT, ['N', 3])],
    initializers: [
      floatTensor(
        'w',
        [3, 4],
        Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5),
      ),
    ],
    nodes: [makeNode('Gemm', ['x', 'w'], ['y'], 'gemm', [attrInt('transB', 1)])],
  });
}

async function rejection(p: Promise<unknown>): Promise<FoglineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FoglineError);
  return err as FoglineError;
}

describe('quantize rejects bad input clearly', () => {
  it('not an ONNX file', async () => {
    const err = await rejection(
      quantizeModel(new TextEncoder().encode('hello, not a model'), DYNAMIC, 'notes.txt'),
    );
    expect(err.code).toBe('INVALID_ARG');
    expect(err.message).toMatch(/notes\.txt is not an ONNX file/);
    expect(() => decodeModel(new Uint8Array(0), 'empty.onnx')).toThrow(/empty\.onnx is not an ONNX file/);
  });

  it('an opset too old for the chosen form, with the way out', async () => {
    const err = await rejection(quantizeModel(encodeModel(gemm(9)), DYNAMIC, 'old.onnx'));
    expect(err.message).toMatch(/unsupported opset 9: dynamic quantization needs ai\.onnx opset ≥ 11/);
    const set = { data: new Float32Array(8), count: 2, sampleDims: [4], source: 'zeros', skipped: [] };
    const staticOptions: QuantizeOptions = { ...DYNAMIC, mode: 'static', calibration: set };
    const perChannel = await rejection(quantizeModel(encodeModel(gemm(11)), staticOptions, 'old.onnx'));
    expect(perChannel.message).toMatch(/opset 11.*≥ 13.*--no-per-channel/);
    const perTensor = await quantizeModel(
      encodeModel(gemm(11)),
      { ...staticOptions, perChannel: false },
      'old.onnx',
    );
    expect(perTensor.quantized).toHaveLength(1);
  });

  it('an operator from an unknown domain', async () => {
    const model = gemm();
    model.graph!.node!.push(makeNode('Sharpen', ['y'], ['z'], 'custom', [], 'com.example'));
    model.graph!.output = [tensorValueInfo('z', DataType.FLOAT)];
    const err = await rejection(quantizeModel(encodeModel(model), DYNAMIC, 'custom.onnx'));
    expect(err.message).toMatch(/unsupported op com\.example::Sharpen/);
  });

  it('a model that is already quantized', async () => {
    const once = await quantizeModel(encodeModel(gemm()), DYNAMIC, 'gemm.onnx');
    const err = await rejection(quantizeModel(once.bytes, DYNAMIC, 'gemm-int8.onnx'));
    expect(err.message).toMatch(/already quantized/);
  });

  it('weights kept in an external data file', async () => {
    const model = gemm();
    model.graph!.initializer = [
      {
        name: 'w',
        dims: [3, 4],
        dataType: DataType.FLOAT,
        dataLocation: 1,
        externalData: [{ key: 'location', value: 'w.bin' }],
      },
    ];
    const err = await rejection(quantizeModel(encodeModel(model), DYNAMIC, 'ext.onnx'));
    expect(err.message).toMatch(/initializer "w" keeps its data in an external file/);
  });

  it('nothing quantizable: says so', async () => {
    const model = buildModel({
      inputs: [tensorValueInfo('x', DataType.FLOAT, ['N', 4])],
      outputs: [tensorValueInfo('y', DataType.FLOAT, ['N', 4])],
      nodes: [makeNode('Relu', ['x'], ['y'], 'relu')],
    });
    const err = await rejection(quantizeModel(encodeModel(model), DYNAMIC, 'relu.onnx'));
    expect(err.message).toMatch(/nothing to quantize in relu\.onnx/);
  });

  it('calibration data of the wrong shape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fogline-samples-'));
    const json = join(dir, 'cal.json');
    await writeFile(json, JSON.stringify({ shape: [2, 5], data: Array.from({ length: 10 }, () => 0.5) }));
    const flat4 = targetOfInput('x', [4], 'y', 'm.onnx');
    await expect(loadDataset(json, flat4)).rejects.toThrow(
      /cal\.json: has samples of shape 5; the model input "x" \(m\.onnx\) takes samples of 4/,
    );
    const raw = join(dir, 'cal.f32');
    await writeFile(raw, new Uint8Array(new Float32Array(6).buffer));
    await expect(loadDataset(raw, flat4)).rejects.toThrow(/cal\.f32: has 24 bytes, not a multiple of 16/);
    await expect(loadDataset('calibration', targetOfInput('x', [3, 32, 32], 'y', 'm.onnx'))).rejects.toThrow(
      /digits split "calibration" \(1×28×28\): has samples of shape 1×28×28; the model input "x" \(m\.onnx\) takes samples of 3×32×32/,
    );
    await expect(loadDataset(join(dir, 'missing.json'), flat4)).rejects.toThrow(
      /neither a digits split .* nor a readable file/,
    );
  });
});
