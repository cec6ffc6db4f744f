/**
 * The one name rule of fogline: model names, device, edge and API-key ids. A name goes into MQTT
 * topics, URLs and file paths (`<dataDir>/models/<name>/<version>/`, the cloud's
 * `store/configs/<name>/`), so it is 1–64 chars of [A-Za-z0-9._-] starting with a letter or digit:
 * never `.`, `..`, a hidden name, a `/` or a `\`, nor a topic wildcard. Every reader of a name from
 * outside (desired state, deployment block, device-model manifest, HTTP path, store input) checks it
 * here.
 */
import { FoglineError } from './errors.ts';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** NAME_PATTERN in words, for help texts and refusals. */
export const NAME_RULE = "1–64 characters: letters, digits, '.', '_', '-'; starting with a letter or digit";

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

/** `value` when it is a name; else INVALID_ARG naming `field` (details `{ field, value }`). */
export function checkName(field: string, value: unknown): string {
  if (!isValidName(value)) {
    throw new FoglineError('INVALID_ARG', `${field} must match ${NAME_PATTERN} (${NAME_RULE})`, {
      details: { field, value },
    });
  }
  return value;
}
