/**
 * Whether one tier's model can pass its input up to another tier's model and be understood by it
 * (docs/model-repository.md "Cascades"): the one rule that both the repository check
 * (`cascadeProblems`) and an edge reading its cloud model's metadata apply. Inputs are taken by
 * position, so names may differ; the sample shape must be the same; datatypes may differ (every
 * upper tier converts through real values, wire.md), and the answers must be over the same classes:
 * the same count, and the same labels in the same order when the configs name them.
 */
import type { TensorSpec } from '../model-config.ts';

/** What one tier needs to know of another tier's model. */
export interface TierModel {
  readonly name: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Class names by index; empty when the model names none. */
  readonly labels: readonly string[];
}

/** Dims of a shape without its batch dim, as shown in messages: `[1, 28, 28]`. */
export function sampleShapeOf(shape: readonly number[]): string {
  return `[${shape.slice(1).join(', ')}]`;
}

/**
 * Why `upper` cannot serve what `lower` passes up (one line each, `where` first); empty when it can.
 * `where` names the pair, e.g. `cloud model "x" vs edge model "y"`.
 */
export function tierProblems(lower: TierModel, upper: TierModel, where: string): string[] {
  const problems: string[] = [];
  const input = lower.inputs[0];
  const theirs = upper.inputs[0];
  if (upper.inputs.length !== 1 || theirs === undefined) {
    problems.push(`${where}: "${upper.name}" has ${upper.inputs.length} inputs; a cascade's models take one`);
  } else if (input !== undefined && sampleShapeOf(theirs.shape) !== sampleShapeOf(input.shape)) {
    problems.push(
      `${where}: input shape ${sampleShapeOf(theirs.shape)} differs from ${sampleShapeOf(input.shape)} (batch dim aside)`,
    );
  }
  const classes = lower.outputs[0]?.shape.at(-1);
  const theirClasses = upper.outputs[0]?.shape.at(-1);
  if (theirClasses !== classes) {
    problems.push(
      `${where}: ${theirClasses ?? 'no'} output classes, "${lower.name}" has ${classes ?? 'none'}`,
    );
  }
  const mine = lower.labels;
  const other = upper.labels;
  if (other.length > 0 && mine.length > 0) {
    const same = other.length === mine.length && other.every((l, i) => l === mine[i]);
    if (!same) {
      const sameSet = other.length === mine.length && other.every((l) => mine.includes(l));
      problems.push(
        sameSet
          ? `${where}: labels are in another order (${other.join(', ')} vs ${mine.join(', ')})`
          : `${where}: label sets differ (${other.join(', ')} vs ${mine.join(', ')})`,
      );
    }
  } else if (other.length !== mine.length) {
    problems.push(`${where}: one config names its labels and the other does not`);
  }
  return problems;
}
