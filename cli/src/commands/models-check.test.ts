import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RepositoryCheck } from '@fogline/shared/model-repository';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { encodeModel } from '@fogline/toolchain';
import { flatClassifier, type TypedClassifier, typedRepository } from '@fogline/toolchain/testing';
import { describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../testing/run-fogline.ts';

/** A temp copy of the digits cascade (tiny, mid, large) whose configs the test edits. */
function digitsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-check-'));
  for (const name of ['digits-tiny', 'digits-mid', 'digits-large']) {
    cpSync(join(DEFAULT_MODELS_DIR, name), join(dir, name), { recursive: true });
  }
  return dir;
}

function editConfig(dir: string, name: string, edit: (c: Record<string, unknown>) => void): void {
  const file = join(dir, name, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Each CLI run starts a fresh Node process: a few seconds each on a loaded 2-core box. */
const CLI_TIMEOUT_MS = 120_000;

describe('fogline models check', () => {
  it(
    'passes the committed digits repository and names its cascade',
    async () => {
      const out = await fogline('models', 'check');
      expect(out.code).toBe(0);
      for (const name of ['digits-tiny', 'digits-mid', 'digits-mid-int8', 'digits-large']) {
        expect(out.stdout).toMatch(new RegExp(`OK +${name} `));
      }
      expect(out.stdout).toContain('cascade digits-tiny → digits-mid-int8 → digits-large: compatible');
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'names a config/ONNX mismatch and a label order that differs, and exits 1',
    async () => {
      const dir = digitsCopy();
      editConfig(dir, 'digits-mid', (c) => {
        (c.inputs as { name: string }[])[0]!.name = 'pixels';
      });
      editConfig(dir, 'digits-large', (c) => {
        c.labels = [...(c.labels as string[])].reverse();
      });
      const out = await fogline('models', 'check', '--models', dir);
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(/PROBLEM +digits-mid /);
      expect(out.stdout).toContain(
        `${join(dir, 'digits-mid')}/config.json field "inputs" does not match ${join(dir, 'digits-mid', '1', 'model.onnx')}: inputs[0].name "pixels" is not in the model (it has image)`,
      );
      expect(out.stdout).toMatch(/OK +digits-large /);
      expect(out.stdout).toContain('cascade digits-tiny → digits-mid → digits-large: NOT usable');
      expect(out.stdout).toMatch(
        /cloud model "digits-large" vs device model "digits-tiny": labels are in another order/,
      );

      const json = await fogline('models', 'check', '--models', dir, '--json');
      expect(json.code).toBe(1);
      const check = JSON.parse(json.stdout) as RepositoryCheck;
      expect(check.ok).toBe(false);
      expect(check.models.find((m) => m.name === 'digits-mid')?.problems[0]).toMatchObject({
        field: 'inputs[0].name',
        file: join(dir, 'digits-mid', '1', 'model.onnx'),
      });
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'names an ONNX that does not load, quantization on a float tensor and labels that no longer fit the classes',
    async () => {
      const dir = digitsCopy();
      writeFileSync(join(dir, 'digits-large', '1', 'model.onnx'), 'not an onnx model');
      editConfig(dir, 'digits-tiny', (c) => {
        (c.inputs as Record<string, unknown>[])[0] = {
          name: 'image',
          datatype: 'UINT8',
          shape: [-1, 1, 28, 28],
          quantization: { scale: 0.02, zero_point: 0 },
        };
        c.preprocessing = { scale: 1 };
      });
      // The ONNX file replaced by a 5-class model; the config still has 10 classes and 10 labels.
      const onnx = encodeModel(flatClassifier('image', 'logits', { sample: [1, 28, 28], classes: 5 }));
      writeFileSync(join(dir, 'digits-mid', '1', 'model.onnx'), onnx);
      const out = await fogline('models', 'check', '--models', dir);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(
        `${join(dir, 'digits-large', '1', 'model.onnx')}: onnxruntime cannot load it`,
      );
      expect(out.stdout).toMatch(
        /digits-tiny\/config\.json field "inputs" .*inputs\[0\]\.quantization applies to int8\/uint8 tensors, the model's "image" is float32/,
      );
      expect(out.stdout).toMatch(
        /digits-mid\/config\.json field "outputs" .*outputs\[0\]\.shape\[1\] is 10, the model's is 5 \(5 classes, labels has 10 names\)/,
      );
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'refuses a batch dim fixed at 1 with max_batch_size past 1, as a load would (config and ONNX agree)',
    async () => {
      const fixedAtOne = (name: string, maxBatchSize: number): TypedClassifier => ({
        name,
        tier: 'cloud',
        input: { name: 'pixels', datatype: 'FP32' },
        output: { name: 'logits', datatype: 'FP32' },
        sample: [2, 3],
        classes: 3,
        batch: 1,
        extraConfig: {
          max_batch_size: maxBatchSize,
          inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 2, 3] }],
          outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 3] }],
        },
      });
      const dir = typedRepository([fixedAtOne('one-batched', 8), fixedAtOne('one-alone', 1)]);
      const out = await fogline('models', 'check', '--models', dir);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(
        `model "one-batched": input "pixels" has a batch dim fixed at 1 [1,2,3] (${join(dir, 'one-batched', '1', 'model.onnx')}) but max_batch_size is 8`,
      );
      expect(out.stdout).not.toContain('model "one-alone"');
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'checks the cascade the flags choose',
    async () => {
      const out = await fogline('models', 'check', '--edge-model', 'digits-large');
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(/model "digits-large" is a cloud model/);
    },
    CLI_TIMEOUT_MS,
  );
});
