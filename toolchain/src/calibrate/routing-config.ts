/**
 * Writes a stage's routing policy into a model's config.json `routing` field ({ score, threshold }; the
 * model answers locally when score ≥ threshold), leaving every other field as it was.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ALWAYS_ESCALATE_THRESHOLD, FoglineError, type ResolvedPolicy } from '@fogline/shared';

/** The policy as config.json holds it: an infinite threshold becomes ALWAYS_ESCALATE_THRESHOLD. */
export function routingOf(policy: ResolvedPolicy): ResolvedPolicy {
  return {
    score: policy.score,
    threshold: Number.isFinite(policy.threshold) ? policy.threshold : ALWAYS_ESCALATE_THRESHOLD,
  };
}

export async function writeRouting(configFile: string, policy: ResolvedPolicy): Promise<void> {
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
  const previous = typeof config.routing === 'object' && config.routing !== null ? config.routing : {};
  config.routing = { ...previous, ...routingOf(policy) };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
}
