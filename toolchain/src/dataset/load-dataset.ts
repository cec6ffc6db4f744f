/**
 * `loadDataset(spec, target)`: the one dataset reader of the toolchain and the CLI (docs/data.md).
 * `spec` is a digits split name (`test`, `digits:test`), a shifted digits stream (`shift:rotated@seed=3`), a folder of class folders of images, a
 * folder holding `inputs.npy` + `labels.npy`, `inputs.npy,labels.npy`, a `.json` file, or a raw
 * float32 file. Every problem is one INVALID_ARG/NOT_FOUND line naming the file (and the field).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { DIGITS_SPLITS, type DigitsSplit, SHIFT_SPEC_PREFIX } from '@fogline/shared/digits';
import type { Dataset, DatasetTarget, LoadDatasetOptions } from './dataset.ts';
import { fromImageFolder } from './image-folder.ts';
import { fromNpyPair } from './npy-pair.ts';
import { fromDigits, fromJson, fromRaw, fromShift } from './numeric-files.ts';

/** The digits split a spec names (`test` or `digits:test`), if it names one. */
export function digitsSplitOf(spec: string): DigitsSplit | undefined {
  const name = spec.startsWith('digits:') ? spec.slice('digits:'.length) : spec;
  return (DIGITS_SPLITS as readonly string[]).includes(name) ? (name as DigitsSplit) : undefined;
}

export async function loadDataset(
  spec: string,
  target: DatasetTarget,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  const split = digitsSplitOf(spec);
  // A split name wins over a folder of that name (`./test` names the folder).
  if (split !== undefined) return fromDigits(split, target);
  if (spec.startsWith(SHIFT_SPEC_PREFIX)) return fromShift(spec, target);
  const parts = spec.split(',');
  if (parts.length === 2 && parts.every((p) => p.endsWith('.npy')))
    return fromNpyPair(parts[0]!, parts[1]!, target);
  let kind: 'dir' | 'file';
  try {
    kind = (await stat(spec)).isDirectory() ? 'dir' : 'file';
  } catch (cause) {
    throw new FoglineError(
      'NOT_FOUND',
      `dataset "${spec}" is neither a digits split (${DIGITS_SPLITS.join(', ')}), a shifted stream (${SHIFT_SPEC_PREFIX}…) nor a readable file or folder`,
      { cause, details: { file: spec } },
    );
  }
  if (kind === 'dir') {
    const inputs = join(spec, 'inputs.npy');
    const labels = join(spec, 'labels.npy');
    if (existsSync(inputs) || existsSync(labels)) return fromNpyPair(inputs, labels, target);
    return fromImageFolder(spec, target, options);
  }
  if (spec.endsWith('.npy')) {
    throw new FoglineError(
      'INVALID_ARG',
      `${spec}: a .npy dataset is a pair, inputs and labels: give --data inputs.npy,labels.npy or a folder holding both`,
    );
  }
  const bytes = await readFile(spec);
  return spec.endsWith('.json')
    ? fromJson(new TextDecoder().decode(bytes), spec, target)
    : fromRaw(bytes, spec, target);
}
