/**
 * A load request's config override (Triton's field names or config.json's) applied over a parsed
 * config.json: what it sets, what it leaves, what it refuses; and the config view read back as an
 * override changes nothing. Served end to end in cloud/src/http/triton-compat.test.ts.
 */
import { parseModelConfig } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import type { ModelInstance } from './model-instance.ts';
import { tritonModelConfig } from './triton-config.ts';
import { applyConfigOverride } from './triton-config-override.ts';

const base = parseModelConfig(
  {
    name: 'cam',
    tier: 'edge',
    platform: 'onnxruntime_onnx',
    max_batch_size: 16,
    inputs: [
      {
        name: 'pixels',
        datatype: 'UINT8',
        shape: [-1, 3, 8, 8],
        quantization: { scale: 0.5, zero_point: 3 },
      },
    ],
    outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }],
    output_kind: 'probabilities',
    dynamic_batching: { max_queue_delay_ms: 1.5, max_queue_size: 100, preferred_batch_size: [8, 16] },
    routing: { score: 'margin', threshold: 0.4 },
    labels: ['cat', 'dog', 'cow'],
  },
  'cam/config.json',
  'cam',
);

describe('applyConfigOverride', () => {
  it("maps Triton's names: µs queue delay, queue policy size, dims without the batch dim, instance count", () => {
    const { config, serving, changesTensors } = applyConfigOverride(
      base,
      {
        max_batch_size: 4,
        input: [{ name: 'pixels', data_type: 'TYPE_UINT8', dims: [3, 8, 8], format: 'FORMAT_NONE' }],
        dynamic_batching: {
          preferred_batch_size: [4],
          max_queue_delay_microseconds: 250,
          default_queue_policy: { max_queue_size: 7 },
          preserve_ordering: false,
        },
        instance_group: [{ kind: 'KIND_CPU', count: 3, gpus: [] }],
        parameters: { intra_op_thread_count: { string_value: '2' } },
      },
      'cam',
    );
    expect(config.max_batch_size).toBe(4);
    expect(config.dynamic_batching).toEqual({
      max_queue_delay_ms: 0.25,
      max_queue_size: 7,
      preferred_batch_size: [4],
    });
    // Same tensors as config.json, quantization kept from it.
    expect(config.inputs).toEqual(base.inputs);
    expect(changesTensors).toBe(false);
    // Untouched fields come from config.json.
    expect(config.labels).toEqual(['cat', 'dog', 'cow']);
    expect(config.output_kind).toBe('probabilities');
    expect(serving).toEqual({
      workers: 3,
      intraOpThreads: 2,
      maxBatchSize: 4,
      maxQueueDelayMs: 0.25,
      maxQueueSize: 7,
      preferredBatchSizes: [4],
    });
  });

  it("takes fogline's field names and parameters, and sets only the serving fields it names", () => {
    const { config, serving } = applyConfigOverride(
      base,
      {
        labels: ['a', 'b', 'c'],
        parameters: {
          routing: { string_value: '{"score":"maxprob","threshold":0.9}' },
          quantization: { string_value: '{"pixels":{"scale":0.25,"zero_point":0}}' },
        },
        input: [{ name: 'pixels', data_type: 'TYPE_UINT8', dims: [3, 8, 8] }],
      },
      'cam',
    );
    expect(config.labels).toEqual(['a', 'b', 'c']);
    expect(config.routing).toEqual({ score: 'maxprob', threshold: 0.9 });
    expect(config.inputs[0]!.quantization).toEqual({ scale: 0.25, zero_point: 0 });
    expect(config.dynamic_batching).toEqual(base.dynamic_batching);
    expect(serving).toEqual({});
  });

  it('turns the response cache on and off (Triton and config.json share the field name)', () => {
    const on = applyConfigOverride(base, { response_cache: { enable: true } }, 'cam');
    expect(on.config.response_cache).toEqual({ enable: true });
    expect(on.changesTensors).toBe(false);
    const off = applyConfigOverride(on.config, { response_cache: { enable: false } }, 'cam');
    expect(off.config.response_cache).toBeUndefined();
  });

  it('applies parameters.quantization on its own (no input/output named), or refuses it, never ignores it', () => {
    const q = (map: unknown) => ({ parameters: { quantization: { string_value: JSON.stringify(map) } } });
    const applied = applyConfigOverride(base, q({ pixels: { scale: 0.25, zero_point: 7 } }), 'cam');
    expect(applied.config.inputs[0]!.quantization).toEqual({ scale: 0.25, zero_point: 7 });
    expect(applied.changesTensors).toBe(true);
    expect(() => applyConfigOverride(base, q({ pixel: { scale: 1, zero_point: 0 } }), 'cam')).toThrow(
      /"parameters\.quantization" names "pixel", which is no input or output of the model/,
    );
    expect(() => applyConfigOverride(base, q({ probs: { scale: 1, zero_point: 0 } }), 'cam')).toThrow(
      /"outputs\[0\]\.quantization" applies to UINT8 and INT8 only/,
    );
  });

  it('says when the tensors change (they are then checked against the model file)', () => {
    const applied = applyConfigOverride(
      base,
      { output: [{ name: 'probs', data_type: 'TYPE_FP16', dims: [3] }] },
      'cam',
    );
    expect(applied.changesTensors).toBe(true);
    expect(applied.config.outputs).toEqual([{ name: 'probs', datatype: 'FP16', shape: [-1, 3] }]);
  });

  it.each([
    [{ max_batch_size: 0 }, /"max_batch_size" must be an integer >= 1/],
    [
      { dynamic_batching: { preferred_batch_size: [8, 32] } },
      /"dynamic_batching\.preferred_batch_size" names 32, past max_batch_size 16/,
    ],
    [
      { max_batch_size: 8, dynamic_batching: { preferred_batch_size: [16] } },
      /"dynamic_batching\.preferred_batch_size" names 16, past max_batch_size 8/,
    ],
    [{ labels: ['a'] }, /"labels" has 1 names but outputs\[0\] has 3 classes/],
    [{ output_kind: 'scores' }, /"output_kind" must be one of/],
    [
      { input: [{ name: 'pixels', data_type: 'TYPE_UINT8', dims: [3, 8, 8], reshape: { shape: [192] } }] },
      /"input\[0\]\.reshape" is not supported/,
    ],
    [
      { dynamic_batching: { max_queue_delay_microseconds: 1.5 } },
      /max_queue_delay_microseconds" must be an integer >= 0/,
    ],
    [
      { dynamic_batching: { default_queue_policy: { default_timeout_microseconds: 100 } } },
      /default_timeout_microseconds" is not supported/,
    ],
    [
      { dynamic_batching: { default_queue_policy: { max_queue_size: 0 } } },
      /must be >= 1 \(fogline queues are bounded\)/,
    ],
    [{ instance_group: [{ count: 1 }, { count: 1 }] }, /"instance_group" must hold exactly one group/],
    [{ instance_group: [{ count: 100 }] }, /"instance_group\[0\]\.count" must be an integer in 1\.\.64/],
    [{ version_policy: { specific: { versions: [1] } } }, /"version_policy" must be/],
    [{ default_model_filename: 'model.plan' }, /"default_model_filename" must be "model.onnx"/],
    [
      { parameters: { labels: { string_value: '[' } } },
      /"parameters\.labels" string_value must be JSON text/,
    ],
    [
      { parameters: { intra_op_thread_count: { string_value: 'lots' } } },
      /intra_op_thread_count" must be an integer/,
    ],
    [{ parameters: { labels: 'a,b,c' } }, /"parameters\.labels" must be \{"string_value"/],
    [{ optimization: {} }, /"optimization" is not supported by fogline/],
    [{ response_cache: { enable: 1 } }, /"response_cache\.enable" must be true or false/],
    [[1, 2], /must be a JSON object/],
  ])('refuses %j', (override, message) => {
    expect(() => applyConfigOverride(base, override, 'cam')).toThrow(message);
  });

  it("reads back the config view of a model served elsewhere; its remote's fields cannot change", () => {
    const remote = parseModelConfig(
      {
        ...JSON.parse(JSON.stringify(base)),
        platform: 'pytorch_libtorch',
        backend: { kind: 'oip', url: 'http://remote:8000', model: 'cam-big', headers: {}, timeout_ms: 5000 },
      },
      'cam/config.json',
      'cam',
    );
    const served = {
      name: 'cam',
      config: remote,
      batching: {
        maxBatchSize: remote.max_batch_size,
        maxQueueDelayMs: remote.dynamic_batching.max_queue_delay_ms,
        maxQueueSize: remote.dynamic_batching.max_queue_size,
        preferredBatchSizes: remote.dynamic_batching.preferred_batch_size,
      },
      // A remote engine's (remote-engine.ts): its connections, no onnxruntime threads.
      engine: { workers: remote.backend!.max_connections, intraOpThreads: 0 },
    } as unknown as ModelInstance;
    const view = JSON.parse(JSON.stringify(tritonModelConfig(served))) as Record<string, unknown>;
    expect(view.backend).toBe('oip');
    const { config, changesTensors } = applyConfigOverride(remote, view, 'cam');
    expect(config).toEqual(remote);
    expect(changesTensors).toBe(false);
    expect(applyConfigOverride(remote, { max_batch_size: 4 }, 'cam').config.max_batch_size).toBe(4);
    // What a remote model does not run with is refused, not ignored.
    expect(() => applyConfigOverride(remote, { instance_group: [{ count: 2 }] }, 'cam')).toThrow(
      /"instance_group\[0\]\.count" must be the backend's max_connections \(16\)/,
    );
    const threads = { parameters: { intra_op_thread_count: { string_value: '2' } } };
    expect(() => applyConfigOverride(remote, threads, 'cam')).toThrow(
      /"parameters\.intra_op_thread_count" does not apply to a model served elsewhere/,
    );
    const moved = {
      parameters: { backend: { string_value: JSON.stringify({ kind: 'oip', url: 'http://x' }) } },
    };
    expect(() => applyConfigOverride(remote, moved, 'cam')).toThrow(
      /"parameters\.backend" cannot be changed/,
    );
    expect(() => applyConfigOverride(remote, { backend: 'onnxruntime' }, 'cam')).toThrow(
      /"backend" must be "oip"/,
    );
    expect(() =>
      applyConfigOverride(remote, { output: [{ name: 'probs', data_type: 'TYPE_FP16', dims: [3] }] }, 'cam'),
    ).toThrow(/"output" comes from the remote model/);
    expect(() => applyConfigOverride(base, { backend: 'oip' }, 'cam')).toThrow(
      /"backend" must be "onnxruntime"/,
    );
  });

  it('reads back its own config view unchanged (get_model_config → load_model(config=...))', () => {
    // The view of a version serving config.json as is (a serving instance's fields the view reads).
    const served = {
      name: 'cam',
      config: base,
      batching: {
        maxBatchSize: base.max_batch_size,
        maxQueueDelayMs: base.dynamic_batching.max_queue_delay_ms,
        maxQueueSize: base.dynamic_batching.max_queue_size,
        preferredBatchSizes: base.dynamic_batching.preferred_batch_size,
      },
      engine: { workers: 2, intraOpThreads: 1 },
    } as unknown as ModelInstance;
    const view = tritonModelConfig(served);
    expect(view.input).toEqual([{ name: 'pixels', data_type: 'TYPE_UINT8', dims: [3, 8, 8] }]);
    expect(view.dynamic_batching.max_queue_delay_microseconds).toBe(1500);
    expect(JSON.parse(view.parameters.quantization!.string_value)).toEqual({
      pixels: { scale: 0.5, zero_point: 3 },
    });
    const { config, serving, changesTensors } = applyConfigOverride(
      base,
      JSON.parse(JSON.stringify(view)),
      'cam',
    );
    expect(config).toEqual(base);
    expect(changesTensors).toBe(false);
    expect(serving).toMatchObject({ workers: 2, intraOpThreads: 1, maxBatchSize: 16 });
  });
});
