/**
 * The checks an uploaded model passes before the model store keeps it (docs/operations.md "Model
 * store"): onnxruntime opens it, its inputs and outputs are what the config says (the repository
 * check, validate.ts), it answers one sample of zeros of the config's shape and type, and it can
 * replace the model's previous version in a cascade (tier-compat.ts: same sample shape, same classes).
 * Every failure is INVALID_ARG with the reason; the messages name the upload, not the scratch file.
 */
import { FoglineError, type ModelConfig, ORT_TYPE_OF, type TensorSpec, tierProblems } from '@fogline/shared';
import { type ModelEntry, modelFileProblems } from '@fogline/shared/model-repository';
import * as ort from 'onnxruntime-node';

export interface UploadUnderCheck {
  readonly name: string;
  readonly version: number;
  readonly config: ModelConfig;
  /** The scratch file holding the upload. */
  readonly path: string;
  /** The config of the model's newest stored version, if any: the new one must be able to replace it. */
  readonly previous?: { readonly version: number; readonly config: ModelConfig };
}

export async function checkUpload(upload: UploadUnderCheck): Promise<void> {
  const label = `${upload.name}@${upload.version}`;
  const named = (text: string) =>
    text.replaceAll(upload.path, `${label} model.onnx`).replaceAll('(upload)/config.json', 'the config');
  const entry: ModelEntry = {
    name: upload.name,
    dir: '(upload)',
    config: upload.config,
    versions: [upload.version],
    latestVersion: upload.version,
    modelPath: () => upload.path,
  };
  const problems = await modelFileProblems(entry, upload.version);
  const first = problems[0];
  if (first) {
    throw new FoglineError('INVALID_ARG', `model upload ${label}: ${named(first.message)}`, {
      details: { field: first.field, problems: problems.map((p) => named(p.message)) },
    });
  }
  if (upload.previous) {
    const compat = tierProblems(
      { ...upload.previous.config, name: `${upload.name}@${upload.previous.version}` },
      { ...upload.config, name: label },
      `model upload ${label} vs version ${upload.previous.version}`,
    );
    if (compat.length > 0) {
      throw new FoglineError(
        'INVALID_ARG',
        `${compat[0]} (a new version must be able to replace the last one)`,
        {
          details: { problems: compat },
        },
      );
    }
  }
  await runOneZeroSample(upload.path, upload.config, label);
}

async function runOneZeroSample(path: string, config: ModelConfig, label: string): Promise<void> {
  const session = await ort.InferenceSession.create(path);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of config.inputs) feeds[spec.name] = zeroSample(spec);
    const outputs = await session.run(feeds);
    for (const spec of config.outputs) {
      const out = outputs[spec.name];
      if (!out) throw new Error(`output "${spec.name}" missing`);
      const classes = spec.shape.at(-1) ?? 1;
      if (out.size !== classes && classes > 0) {
        throw new Error(`output "${spec.name}" has ${out.size} values for one sample, expected ${classes}`);
      }
    }
  } catch (cause) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    throw new FoglineError(
      'INVALID_ARG',
      `model upload ${label}: it fails on one sample of zeros shaped as the config says (${reason})`,
      { cause },
    );
  } finally {
    await session.release();
  }
}

/** One sample of zeros (batch 1) of an input, in onnxruntime's element type. */
function zeroSample(spec: TensorSpec): ort.Tensor {
  const dims = [1, ...spec.shape.slice(1).map((d) => Math.max(d, 1))];
  const n = dims.reduce((a, b) => a * b, 1);
  switch (ORT_TYPE_OF[spec.datatype]) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(n), dims);
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(n), dims);
    case 'uint8':
      return new ort.Tensor('uint8', new Uint8Array(n), dims);
    case 'int8':
      return new ort.Tensor('int8', new Int8Array(n), dims);
  }
}
