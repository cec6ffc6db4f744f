/** Boundary checks for store inputs; each failure is a FoglineError INVALID_ARG naming the field. */
import { FoglineError, isTier, TIERS, type Tier } from '@fogline/shared';
import type { ModelVersionStatus } from './store.ts';

/** Names of API keys, edge/device ids and model names: the one name rule of @fogline/shared (names.ts). */
export { checkName, isValidName, NAME_PATTERN, NAME_RULE } from '@fogline/shared';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const STATUSES: readonly ModelVersionStatus[] = ['staged', 'active', 'retired'];

function invalid(field: string, message: string, value: unknown): FoglineError {
  return new FoglineError('INVALID_ARG', `${field} ${message}`, { details: { field, value } });
}

export function checkRate(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid('ratePerSec', 'must be a finite number > 0', value);
  }
  return value;
}

export function checkBurst(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw invalid('burst', 'must be an integer >= 1', value);
  }
  return value;
}

export function checkVersion(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw invalid('version', 'must be an integer >= 1', value);
  }
  return value;
}

export function checkTier(value: unknown): Tier {
  if (!isTier(value)) throw invalid('tier', `must be one of ${TIERS.join(', ')}`, value);
  return value;
}

export function checkStatus(value: unknown): ModelVersionStatus {
  if (!STATUSES.includes(value as ModelVersionStatus)) {
    throw invalid('status', `must be one of ${STATUSES.join(', ')}`, value);
  }
  return value as ModelVersionStatus;
}

export function checkSha256(value: unknown): string {
  if (typeof value !== 'string' || !SHA256_PATTERN.test(value)) {
    throw invalid('sha256', 'must be 64 lower-case hex characters', value);
  }
  return value;
}

export function checkBytes(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid('bytes', 'must be a non-negative integer', value);
  }
  return value;
}
