/**
 * Runtime selection where onnxruntime-node's native binary does not load (32-bit ARM, docs/device-sdk.md
 * "Runtimes"): 'auto' falls back to onnxruntime-web and answers like the native runtime does, while an
 * explicit 'node' fails with UNAVAILABLE. The missing binary is simulated by making the import of
 * onnxruntime-node throw what Node throws for a missing .node file; everything else is real.
 */
import { readFileSync } from 'node:fs';
import { argmax } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelRuntime, RuntimeModel } from './model-runtime.ts';
import { selectRuntime } from './select-runtime.ts';

const model: RuntimeModel = { bytes: readFileSync(`${DEFAULT_MODELS_DIR}/digits-tiny/1/model.onnx`) };
const corrupt: RuntimeModel = { ...model, bytes: new Uint8Array([1, 2, 3]) };
const digits = loadDigits('test');
const DIGITS = 20;
const sample = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
/** The logits of digit i. */
const run = async (runtime: ModelRuntime, i: number) =>
  (await runtime.run(
    { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: sample(i) },
    { name: 'logits', datatype: 'FP32' },
  )) as Float32Array;

async function logitsOf(runtime: ModelRuntime): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < DIGITS; i++) out.push(await run(runtime, i));
  return out;
}

/** What `require()` of onnxruntime_binding.node throws on a platform without a prebuilt binary. */
function missingBinary(): Error {
  const err = new Error("Cannot find module '../bin/napi-v6/linux/arm/onnxruntime_binding.node'") as Error & {
    code: string;
  };
  err.code = 'MODULE_NOT_FOUND';
  return err;
}

function causesOf(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = (err as { cause?: unknown }).cause; e !== undefined; e = (e as { cause?: unknown }).cause) {
    chain.push(e);
  }
  return chain;
}

/** selectRuntime from a fresh module graph in which importing onnxruntime-node throws. */
async function selectRuntimeWithoutNativeBinary(): Promise<typeof selectRuntime> {
  vi.resetModules();
  vi.doMock('onnxruntime-node', () => {
    throw missingBinary();
  });
  return (await import('./select-runtime.ts')).selectRuntime;
}

let nativeLogits: Float32Array[];

beforeAll(async () => {
  // Reference answers from the real native runtime, before the binary is made to disappear.
  const native = await selectRuntime('node', model);
  try {
    expect(native.kind).toBe('node');
    nativeLogits = await logitsOf(native);
  } finally {
    await native.close();
  }
});

describe('runtime selection with the native binary available', () => {
  it("'auto' does not hide a bad model behind the fallback: INVALID_ARG from the native runtime", async () => {
    await expect(selectRuntime('auto', corrupt)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/onnxruntime-node/),
    });
  });
});

describe('runtime selection without the native binary', () => {
  let select: typeof selectRuntime;
  beforeAll(async () => {
    select = await selectRuntimeWithoutNativeBinary();
  });
  afterAll(() => {
    vi.doUnmock('onnxruntime-node');
    vi.resetModules();
  });

  it("'auto' falls back to onnxruntime-web, which gives the native runtime's labels and logits", async () => {
    const runtime = await select('auto', model);
    try {
      expect(runtime.kind).toBe('web');
      const webLogits = await logitsOf(runtime);
      for (let i = 0; i < DIGITS; i++) {
        const web = webLogits[i]!;
        const native = nativeLogits[i]!;
        expect(web).toHaveLength(10);
        expect(argmax(web)).toBe(argmax(native));
        for (let k = 0; k < 10; k++) expect(web[k]).toBeCloseTo(native[k]!, 3);
      }
      const correct = webLogits.filter((l, i) => argmax(l) === digits.labels[i]).length;
      expect(correct).toBeGreaterThanOrEqual(DIGITS - 2);
    } finally {
      await runtime.close();
    }
  });

  it("an explicit 'node' fails with UNAVAILABLE naming onnxruntime-node, the load error as cause", async () => {
    const failure = await select('node', model).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({
      name: 'FoglineError',
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/onnxruntime-node has no native binary here/),
    });
    // The load error is kept as cause (vitest wraps a throwing mock factory once more).
    expect(causesOf(failure)).toContainEqual(expect.objectContaining({ code: 'MODULE_NOT_FOUND' }));
  });

  it("'auto' with a bad model falls back and still fails INVALID_ARG (from onnxruntime-web)", async () => {
    await expect(select('auto', corrupt)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/onnxruntime-web/),
    });
  });

  it("'web' is unaffected by the missing native binary", async () => {
    const runtime = await select('web', model);
    try {
      expect(runtime.kind).toBe('web');
      expect(argmax(await run(runtime, 0))).toBe(argmax(nativeLogits[0]!));
    } finally {
      await runtime.close();
    }
  });
});
