/**
 * A cascade: one model per tier from a repository (docs/model-repository.md "Cascades"), and the rules
 * that let its tiers pass inputs up and agree on answers: the same input sample shape (names and
 * datatypes may differ: upper tiers take the one input by position and convert it), the same
 * preprocessing, the same number of classes, and the same labels in the same order.
 */
import { FoglineError } from '../core/errors.ts';
import { type TierModel, tierProblems } from '../core/fabric/tier-compat.ts';
import type { Preprocessing } from '../core/model-config.ts';
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

/**
 * What makes a cascade unusable, one line per problem (empty: compatible). Each upper tier against the
 * device model: the tier rule of the fabric (`tierProblems`: one input of the same sample shape,
 * the same classes and labels in the same order; datatypes may differ, every tier converting through
 * real values), and the same preprocessing, since upper tiers do none of their own: the real values a
 * device prepared must mean to them what they mean to the device.
 */
export function cascadeProblems(cascade: Cascade): string[] {
  const problems: string[] = [];
  const device = cascade.device;
  for (const tier of ['edge', 'cloud'] as const) {
    const entry = cascade[tier];
    const where = `${tier} model "${entry.name}" vs device model "${device.name}"`;
    problems.push(...tierProblems(modelOf(device), modelOf(entry), where));
    const differs = preprocessingDifference(device.config.preprocessing, entry.config.preprocessing);
    if (differs !== undefined) {
      problems.push(
        `${where}: preprocessing.${differs} differs; upper tiers take the device's prepared input as it is`,
      );
    }
  }
  return problems;
}

function modelOf(entry: ModelEntry): TierModel {
  const { inputs, outputs, labels } = entry.config;
  return { name: entry.name, inputs, outputs, labels };
}

/** The first preprocessing field that differs, or undefined. */
function preprocessingDifference(a: Preprocessing, b: Preprocessing): string | undefined {
  if (a.layout !== b.layout) return `layout (${b.layout} vs ${a.layout})`;
  if (a.channel_order !== b.channel_order) return `channel_order (${b.channel_order} vs ${a.channel_order})`;
  if (a.scale !== b.scale) return `scale (${b.scale} vs ${a.scale})`;
  for (const field of ['mean', 'std'] as const) {
    if (a[field].join() !== b[field].join())
      return `${field} ([${b[field].join(', ')}] vs [${a[field].join(', ')}])`;
  }
  return undefined;
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
