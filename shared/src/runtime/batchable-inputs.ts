/**
 * The one rule for the inputs a batching model instance can serve, whether it runs here (checked
 * against config.json and its ONNX file) or elsewhere (its remote's metadata): requests are laid end
 * to end along the batch dim into batches of 1 to `max_batch_size` samples, so every other dim must
 * be fixed, and the batch dim must be open (-1). Triton refuses a model with `max_batch_size` > 0
 * whose first dim is not -1; fogline also serves a batch dim fixed at 1 with `max_batch_size` 1 (no
 * batching), as `fogline init` writes it for such a model (docs/model-repository.md).
 */
import { FoglineError } from '../core/errors.ts';

export interface DeclaredInput {
  readonly name: string;
  /** Full shape, batch dim first; -1 for an open dim. */
  readonly shape: readonly number[];
}

/**
 * INVALID_ARG naming the model, the input and its dims when `inputs` (as `source` declares them:
 * "config.json", an ONNX file, a remote's metadata) cannot be batched up to `maxBatchSize`.
 */
export function checkBatchableInputs(
  model: string,
  inputs: readonly DeclaredInput[],
  maxBatchSize: number,
  source: string,
): void {
  for (const { name, shape } of inputs) {
    const dims = `[${shape.join(',')}]`;
    const fail = (problem: string) => {
      throw new FoglineError('INVALID_ARG', `model "${model}": input "${name}" ${problem}`, {
        details: { model, input: name, dims: [...shape], maxBatchSize, source },
      });
    };
    if (shape.slice(1).some((d) => d < 1)) {
      fail(`has a variable non-batch dim ${dims} (${source}); dynamic batching needs fixed sample shapes`);
    }
    const batch = shape[0];
    if (batch === undefined || batch < 1) continue;
    if (batch > 1) {
      fail(
        `has a batch dim fixed at ${batch} ${dims} (${source}); batches of 1 to max_batch_size samples need an open batch dim (-1)`,
      );
    }
    if (maxBatchSize > 1) {
      fail(
        `has a batch dim fixed at 1 ${dims} (${source}) but max_batch_size is ${maxBatchSize}; serve it with max_batch_size 1 or export an open batch dim (-1)`,
      );
    }
  }
}
