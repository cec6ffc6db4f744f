/** The protobuf layer: committed models survive decode → encode byte for byte; built models load in onnxruntime. */
import { readFileSync } from 'node:fs';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from './codec.ts';
import { attrInt, makeNode, tensorValueInfo } from './graph.ts';
import { DataType } from './ir.ts';
import { buildModel } from './model-builder.ts';
import { readFloats } from './tensor.ts';

describe('ONNX codec', () => {
  it.each(['digits-tiny', 'digits-mid', 'digits-large'])('%s round-trips byte for byte', (name) => {
    const bytes = readFileSync(`${DEFAULT_MODELS_DIR}/${name}/1/model.onnx`);
    const model = decodeModel(bytes, name);
    expect(model.graph?.input?.[0]?.name).toBe('image');
    expect(Buffer.from(encodeModel(model)).equals(bytes)).toBe(true);
  });

  it('keeps negative int64 attributes, float_data tensors and fields it does not type', async () => {
    const model = buildModel({
      inputs: [tensorValueInfo('x', DataType.FLOAT, ['N', 2, 3])],
      outputs: [tensorValueInfo('y', DataType.FLOAT, ['N', 3, 2])],
      initializers: [{ name: 'k', dims: [1], dataType: DataType.FLOAT, floatData: [2.5] }],
      nodes: [
        makeNode('Softmax', ['x'], ['s'], 'softmax', [attrInt('axis', -1)]),
        makeNode('Mul', ['s', 'k'], ['m'], 'mul'),
        makeNode('Transpose', ['m'], ['y'], 'transpose', [{ name: 'perm', type: 7, ints: [0, 2, 1] }]),
      ],
    });
    Object.assign(model, { metadataProps: [{ key: 'owner', value: 'fogline' }] });
    const back = decodeModel(encodeModel(model), 'built');
    expect(back.graph?.node?.[0]?.attribute?.[0]?.i).toBe(-1);
    expect(readFloats(back.graph!.initializer![0]!)).toEqual(Float32Array.of(2.5));
    expect(back.metadataProps).toEqual([{ key: 'owner', value: 'fogline' }]);

    const session = await ort.InferenceSession.create(encodeModel(model));
    const x = new ort.Tensor('float32', Float32Array.of(0, 0, 0, 1, 1, 1), [1, 2, 3]);
    const y = (await session.run({ x })).y!;
    expect(y.dims).toEqual([1, 3, 2]);
    for (const v of y.data as Float32Array) expect(v).toBeCloseTo(2.5 / 3, 6);
    await session.release();
  });
});
