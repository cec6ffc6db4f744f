/**
 * The benches' samples, read like every command reads data: through the toolchain's one dataset
 * reader, prepared for the model they feed (its config two folders above the ONNX file).
 */
import { basename, dirname, join } from 'node:path';
import { loadModelEntry } from '@fogline/shared/model-repository';
import { type Dataset, loadDataset, targetOf } from '@fogline/toolchain';

/** `spec` (a digits split by default, or any dataset of docs/data.md) for the model at `modelPath`. */
export async function samplesFor(modelPath: string, spec: string): Promise<Dataset> {
  const modelDir = dirname(dirname(modelPath));
  const entry = await loadModelEntry(dirname(modelDir), basename(modelDir));
  return loadDataset(spec, targetOf(entry.config, join(modelDir, 'config.json')));
}
