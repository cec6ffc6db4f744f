/**
 * A cascade: one model per tier from a repository (docs/model-repository.md "Cascades"), and the rules
 * that let its tiers pass inputs up and agree on answers: the same input shape and datatype (names
 * may differ: upper tiers take the one input by position), the same number of classes, and the same
 * labels in the same order.
 */
import { FoglineError } from '../core/errors.ts';
import { TIERS, type Tier } from '../core/routing/index.ts';
import type { ModelEntry, ModelRepository } from './repository.ts';

export type Cascade = Readonly<Record<Tier, ModelEntry>>;

/** Names chosen per tier; a tier left out is picked from the repository. */
export type CascadeChoice = Partial<Record<Tier, string>>;

/**
 * One model per tier: the named one, else the only model of that tier, else (several) the one whose
 * name ends in "-int8" (what `fogline quantize --into` writes) when exactly one does.
 */
export function findCascade(repo: ModelRepository, choice: CascadeChoice = {}): Cascade {
  const picked = {} as Record<Tier, ModelEntry>;
  for (const tier of TIERS) {
    const named = choice[tier];
    if (named !== undefined) {
      const entry = repo.get(named);
      if (entry.config.tier !== tier) {
        throw new FoglineError(
          'INVALID_ARG',
          `model "${named}" is a ${entry.config.tier} model (its config.json says tier "${entry.config.tier}"), not a ${tier} model`,
        );
      }
      picked[tier] = entry;
      continue;
    }
    const ofTier = repo.list().filter((e) => e.config.tier === tier);
    const quantized = ofTier.filter((e) => e.name.endsWith('-int8'));
    const only = ofTier.length === 1 ? ofTier[0] : quantized.length === 1 ? quantized[0] : undefined;
    if (only === undefined) {
      throw new FoglineError(
        'INVALID_ARG',
        ofTier.length === 0
          ? `model repository ${repo.dir} has no ${tier} model (a config.json with "tier": "${tier}")`
          : `model repository ${repo.dir} has several ${tier} models (${ofTier.map((e) => e.name).join(', ')}): choose one with --${tier}-model`,
      );
    }
    picked[tier] = only;
  }
  return picked;
}

/** What makes a cascade unusable, one line per problem (empty: compatible). */
export function cascadeProblems(cascade: Cascade): string[] {
  const problems: string[] = [];
  const device = cascade.device;
  const base = device.config;
  const input = base.inputs[0]!;
  const classes = base.outputs[0]!.shape.at(-1)!;
  for (const tier of ['edge', 'cloud'] as const) {
    const entry = cascade[tier];
    const c = entry.config;
    const where = `${tier} model "${entry.name}" vs device model "${device.name}"`;
    if (c.inputs.length !== 1)
      problems.push(`${where}: the ${tier} model has ${c.inputs.length} inputs; a cascade's models take one`);
    const theirs = c.inputs[0]!;
    const shape = (s: readonly number[]) => `[${s.slice(1).join(', ')}]`;
    if (shape(theirs.shape) !== shape(input.shape)) {
      problems.push(
        `${where}: input shape ${shape(theirs.shape)} differs from ${shape(input.shape)} (batch dim aside)`,
      );
    }
    if (theirs.datatype !== input.datatype) {
      problems.push(`${where}: input datatype ${theirs.datatype} differs from ${input.datatype}`);
    }
    const theirClasses = c.outputs[0]!.shape.at(-1)!;
    if (theirClasses !== classes) {
      problems.push(`${where}: ${theirClasses} output classes, the device model has ${classes}`);
    }
    if (c.labels.length > 0 && base.labels.length > 0) {
      const same = c.labels.length === base.labels.length && c.labels.every((l, i) => l === base.labels[i]);
      if (!same) {
        const sameSet =
          c.labels.length === base.labels.length && c.labels.every((l) => base.labels.includes(l));
        problems.push(
          sameSet
            ? `${where}: labels are in another order (${c.labels.join(', ')} vs ${base.labels.join(', ')})`
            : `${where}: label sets differ (${c.labels.join(', ')} vs ${base.labels.join(', ')})`,
        );
      }
    } else if (c.labels.length !== base.labels.length) {
      problems.push(`${where}: one config names its labels and the other does not`);
    }
  }
  return problems;
}

/** Throws INVALID_ARG listing every problem when the cascade's tiers cannot work together. */
export function checkCascade(cascade: Cascade): void {
  const problems = cascadeProblems(cascade);
  if (problems.length > 0) {
    throw new FoglineError('INVALID_ARG', `incompatible cascade:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
}
