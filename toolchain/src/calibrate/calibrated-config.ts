/**
 * Writes what calibration fitted into a model's config.json: the stage's `routing` policy ({ score,
 * threshold }; the model answers locally when score ≥ threshold) and, when given, the `drift`
 * reference (the device's calibration score histogram), leaving every other field as it was. The
 * file is replaced atomically (@fogline/shared/storage `replaceFile`), keeping its mode.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ALWAYS_ESCALATE_THRESHOLD,
  type DriftReference,
  FoglineError,
  type ResolvedPolicy,
} from '@fogline/shared';
import { diskFullError, replaceFile } from '@fogline/shared/storage';

/** The policy as config.json holds it: an infinite threshold becomes ALWAYS_ESCALATE_THRESHOLD. */
export function routingOf(policy: ResolvedPolicy): ResolvedPolicy {
  return {
    score: policy.score,
    threshold: Number.isFinite(policy.threshold) ? policy.threshold : ALWAYS_ESCALATE_THRESHOLD,
  };
}

export interface CalibratedFields {
  /** Absent: the `routing` block stays as it is (`fogline calibrate --drift-only`). */
  readonly routing?: ResolvedPolicy;
  /** Absent: a `drift` block already in the file stays as it is. */
  readonly drift?: DriftReference;
}

export async function writeCalibratedConfig(configFile: string, fields: CalibratedFields): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${configFile}: cannot read it as JSON`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FoglineError('INVALID_ARG', `${configFile}: not a JSON object`);
  }
  const config = raw as Record<string, unknown>;
  if (fields.routing) {
    const previous = typeof config.routing === 'object' && config.routing !== null ? config.routing : {};
    config.routing = { ...previous, ...routingOf(fields.routing) };
  }
  if (fields.drift) config.drift = fields.drift;
  // Replaced whole (temp file, fsync, rename): a full disk or a kill never leaves a torn config.
  await replaceFile(configFile, `${JSON.stringify(config, null, 2)}\n`).catch((err: unknown) => {
    throw diskFullError(err, dirname(configFile), ` while writing ${configFile}; it is as it was`) ?? err;
  });
}
