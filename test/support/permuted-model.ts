/**
 * A clearly broken edge model for the rollout gate (issue 13 item 4): the committed digits-mid with
 * its output labels permuted (class k answered as k + 1 mod 10), made by renaming the graph's output
 * and appending a Gather over the class axis. Same inputs, outputs and config as digits-mid, so the
 * cloud stores it and the edge loads it; only its answers are wrong.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { attrInt, DataType, decodeModel, encodeModel, makeNode } from '@fogline/toolchain';

export function writePermutedDigitsMid(file: string): string {
  const model = decodeModel(readFileSync(join(DEFAULT_MODELS_DIR, 'digits-mid', '1', 'model.onnx')));
  const graph = model.graph!;
  const output = graph.output![0]!.name!;
  for (const node of graph.node!) node.output = node.output!.map((o) => (o === output ? `${output}_raw` : o));
  graph.initializer!.push({
    name: 'permuted_labels',
    dataType: DataType.INT64,
    dims: [10],
    // out[:, j] = raw[:, j - 1]: the score of class k is answered as class k + 1.
    int64Data: Array.from({ length: 10 }, (_, j) => (j + 9) % 10),
  });
  graph.node!.push(
    makeNode('Gather', [`${output}_raw`, 'permuted_labels'], [output], 'permute_labels', [
      attrInt('axis', 1),
    ]),
  );
  writeFileSync(file, encodeModel(model));
  return file;
}
