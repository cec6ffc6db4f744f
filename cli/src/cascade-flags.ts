/**
 * The cascade a command runs (`calibrate`, `up`): `--models <repo>` with `--device-model`,
 * `--edge-model`, `--cloud-model`; a tier not named is found by `findCascade` (the only model of its
 * tier, else the one named *-int8), except in the built-in digits repository, whose defaults the
 * command gives. The tiers are checked to work together (`checkCascade`) before anything runs.
 */
import { resolve } from 'node:path';
import type { Tier } from '@fogline/shared';
import {
  type Cascade,
  type CascadeChoice,
  checkCascade,
  DEFAULT_MODELS_DIR,
  findCascade,
  loadModelRepository,
} from '@fogline/shared/model-repository';

export interface CascadeFlags {
  models: string;
  deviceModel?: string;
  edgeModel?: string;
  cloudModel?: string;
}

/** Whether `dir` is the committed digits repository (`models/`). */
export function isBuiltInRepository(dir: string): boolean {
  return resolve(dir) === resolve(DEFAULT_MODELS_DIR);
}

export async function cascadeOf(
  flags: CascadeFlags,
  builtInDefaults: Record<Tier, string>,
): Promise<Cascade> {
  const repo = await loadModelRepository(flags.models);
  const named: CascadeChoice = { device: flags.deviceModel, edge: flags.edgeModel, cloud: flags.cloudModel };
  const choice: CascadeChoice = {};
  for (const tier of ['device', 'edge', 'cloud'] as const) {
    const name = named[tier] ?? (isBuiltInRepository(flags.models) ? builtInDefaults[tier] : undefined);
    if (name !== undefined) choice[tier] = name;
  }
  const cascade = findCascade(repo, choice);
  checkCascade(cascade);
  return cascade;
}
