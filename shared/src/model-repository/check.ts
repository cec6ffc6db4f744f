/**
 * `fogline models check`: every model of a repository (config.json, then each version's ONNX file
 * against it), then its cascade. Collects every problem instead of stopping at the first, so one
 * run tells a user all that is wrong.
 */
import { isFoglineError } from '../core/errors.ts';
import { TIERS, type Tier } from '../core/routing/index.ts';
import { type Cascade, type CascadeChoice, cascadeProblems, findCascade } from './cascade.ts';
import {
  loadModelEntry,
  type ModelEntry,
  type ModelRepository,
  modelDirNames,
  repositoryOf,
  servedElsewhere,
} from './repository.ts';
import { type ModelFileProblem, modelFileProblems } from './validate.ts';

export interface ModelCheck {
  readonly name: string;
  /** Undefined when the config could not be read. */
  readonly tier: Tier | undefined;
  readonly versions: readonly number[];
  /** Empty: the config is valid and every version's ONNX file matches it. */
  readonly problems: readonly ModelFileProblem[];
  /** A model with a `backend`: the server that serves it (not checked here; only the cloud serves it). */
  readonly servedBy?: string;
}

export interface CascadeCheck {
  /** The model chosen per tier (a tier with no usable choice is absent). */
  readonly models: Partial<Record<Tier, string>>;
  /** One line per incompatibility (empty: the tiers work together). */
  readonly problems: readonly string[];
}

export interface RepositoryCheck {
  readonly dir: string;
  readonly models: readonly ModelCheck[];
  readonly cascade: CascadeCheck;
  readonly ok: boolean;
}

/** Checks every model of `dir` and the cascade `choice` picks from it (docs/model-repository.md). */
export async function checkModelRepository(
  dir: string,
  choice: CascadeChoice = {},
): Promise<RepositoryCheck> {
  const models: ModelCheck[] = [];
  const loaded: ModelEntry[] = [];
  for (const name of await modelDirNames(dir)) {
    let entry: ModelEntry;
    try {
      entry = await loadModelEntry(dir, name);
    } catch (err) {
      const servedBy = servedElsewhere(err);
      models.push({
        name,
        tier: undefined,
        versions: [],
        problems: servedBy === undefined ? [problemOf(err, `${dir}/${name}`)] : [],
        ...(servedBy !== undefined && { servedBy }),
      });
      continue;
    }
    const problems: ModelFileProblem[] = [];
    for (const version of entry.versions) problems.push(...(await modelFileProblems(entry, version)));
    models.push({ name, tier: entry.config.tier, versions: entry.versions, problems });
    loaded.push(entry);
  }
  const cascade = checkCascadeOf(repositoryOf(dir, loaded), choice, models);
  const ok = cascade.problems.length === 0 && models.every((m) => m.problems.length === 0);
  return { dir, models, cascade, ok };
}

function checkCascadeOf(
  repo: ModelRepository,
  choice: CascadeChoice,
  models: readonly ModelCheck[],
): CascadeCheck {
  const broken = models.filter((m) => m.problems.length > 0).map((m) => m.name);
  let cascade: Cascade;
  try {
    cascade = findCascade(repo, choice);
  } catch (err) {
    const unreadable = broken.filter((name) => !repo.has(name));
    const hint = unreadable.length > 0 ? ` (not counted, their config is bad: ${unreadable.join(', ')})` : '';
    return { models: {}, problems: [`${err instanceof Error ? err.message : String(err)}${hint}`] };
  }
  const names = Object.fromEntries(TIERS.map((t) => [t, cascade[t].name])) as Record<Tier, string>;
  const problems = TIERS.filter((t) => broken.includes(names[t])).map(
    (t) => `${t} model "${names[t]}" does not match its ONNX file (see above)`,
  );
  return { models: names, problems: [...problems, ...cascadeProblems(cascade)] };
}

function problemOf(err: unknown, dir: string): ModelFileProblem {
  if (!isFoglineError(err)) throw err;
  const details = (err.details ?? {}) as { file?: unknown; field?: unknown };
  return {
    file: typeof details.file === 'string' ? details.file : `${dir}/config.json`,
    field: typeof details.field === 'string' ? details.field : '(file)',
    message: err.message,
  };
}
