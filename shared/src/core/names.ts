/**
 * The one name rule of fogline: model names, device, edge and API-key ids. A name goes into MQTT
 * topics, URLs and file paths (`<dataDir>/models/<name>/<version>/`, the cloud's
 * `store/configs/<name>/`), so it is 1–64 chars of [A-Za-z0-9._-] starting with a letter or digit:
 * never `.`, `..`, a hidden name, a `/` or a `\`, nor a topic wildcard. Every reader of a name from
 * outside (desired state, deployment block, device-model manifest, HTTP path, store input) checks it
 * here. So does every reader of the strings fabric messages carry in their JSON only, never in a
 * topic or a path: the printable ids a device makes up, the `name:version` model labels, the long
 * model names and the ids of deployments and routing directives.
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

/**
 * Ids a device makes up that travel only inside a message's JSON (a request id a late correction
 * names, an audit's id): 1–128 printable ASCII characters, so no space, control or non-ASCII one.
 */
export const PRINTABLE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
/** PRINTABLE_ID_PATTERN in words, as the readers' refusals say it (`"id" must be …`). */
export const PRINTABLE_ID_RULE = '1–128 printable chars';

export function isPrintableId(value: unknown): value is string {
  return typeof value === 'string' && PRINTABLE_ID_PATTERN.test(value);
}

/** A long model name's characters: the name rule's, up to 128 of them. */
const LONG_MODEL_NAME = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';

/**
 * A model name where one past the name rule's 64 characters must still be read: the model an edge's
 * audit upload escalates to, and a directory of the cloud's model repository (listed, so that its
 * load fails with the name rule's reason). Like the name rule, never a `/`, a `\` or a leading `.`,
 * so such a name stays one directory (`a..b` is one).
 */
export const LONG_MODEL_NAME_PATTERN = new RegExp(`^${LONG_MODEL_NAME}$`);

export function isLongModelName(value: unknown): value is string {
  return typeof value === 'string' && LONG_MODEL_NAME_PATTERN.test(value);
}

/**
 * A model as fabric messages name it (policy, correction, audit and audit-upload bodies):
 * `name:version`, the name a long model name (1–128), the version 1–64 of [A-Za-z0-9._-].
 */
export const MODEL_LABEL_PATTERN = new RegExp(`^${LONG_MODEL_NAME}:[A-Za-z0-9._-]{1,64}$`);

export function isModelLabel(value: unknown): value is string {
  return typeof value === 'string' && MODEL_LABEL_PATTERN.test(value);
}

/**
 * The id of an operator's change an edge is told about: a deployment (and each rollback) and a
 * routing directive, in desired states, reported states and the cloud's deployment store. 1–64 of
 * [A-Za-z0-9._:-], so an id made of a name and a timestamp (`digits-mid:2026-…`) is one.
 */
export const CHANGE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** CHANGE_ID_PATTERN in words, as the readers' refusals say it (`deployment.id must be …`). */
export const CHANGE_ID_RULE = '1-64 chars of [A-Za-z0-9._:-]';

export function isChangeId(value: unknown): value is string {
  return typeof value === 'string' && CHANGE_ID_PATTERN.test(value);
}
