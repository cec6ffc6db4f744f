/**
 * The edge agent's `deviceModelRetry` option (docs/edge-agent.md "Device models", **Retries**): the
 * waits between the tries of a device model download that failed on the way, checked once at start.
 * Defaults RETRY_BACKOFF_DEFAULTS (1 s doubling to 5 min); either bound may be given alone.
 */
import {
  type BackoffOptions,
  checkFields,
  FoglineError,
  ms,
  optionChecker,
  RETRY_BACKOFF_DEFAULTS,
  type Rule,
  rule,
} from '@fogline/shared';

export const DEVICE_MODEL_RETRY_RULES = Object.freeze({
  initialDelayMs: ms(1),
  maxDelayMs: ms(1),
} satisfies { readonly [K in keyof BackoffOptions]-?: Rule<unknown> });

const check = optionChecker('edge agent');
const anObject = rule<object>('an object', (v) => typeof v === 'object' && v !== null);

/** The backoff of `deviceModelRetry`, defaults filled in, frozen; INVALID_ARG naming the field. */
export function resolveDeviceModelRetry(given: Partial<BackoffOptions> = {}): BackoffOptions {
  check('deviceModelRetry', given, anObject);
  const defined = Object.entries(given).filter(([, v]) => v !== undefined);
  const retry = { ...RETRY_BACKOFF_DEFAULTS, ...Object.fromEntries(defined) } as BackoffOptions;
  checkFields(check, retry, DEVICE_MODEL_RETRY_RULES, 'deviceModelRetry.');
  if (retry.maxDelayMs < retry.initialDelayMs) {
    throw new FoglineError(
      'INVALID_ARG',
      'edge agent: deviceModelRetry.maxDelayMs must not be below deviceModelRetry.initialDelayMs',
      { details: { field: 'deviceModelRetry.maxDelayMs' } },
    );
  }
  return Object.freeze(retry);
}
