/**
 * Parsing and validation of the JSON header of an inference body: an OIP `$inference_request`,
 * `$inference_response` or `$inference_error_response`. Only the fields fogline reads are checked;
 * unknown fields are kept as they are.
 */
import { FoglineError } from '../errors.ts';
import {
  BINARY_DATA_SIZE,
  type InferErrorResponse,
  type InferRequest,
  type InferResponse,
  isDatatype,
  type Parameters,
} from '../oip.ts';
import { parseScannedHeader } from './header-data-scan.ts';
import type { CodecLimits } from './limits.ts';

export type ParsedHeader =
  | { kind: 'request'; header: InferRequest }
  | { kind: 'response'; header: InferResponse }
  | { kind: 'error'; header: InferErrorResponse };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One decoder for every header (decoding is stateless without `stream: true`). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseHeader(bytes: Uint8Array, limits: CodecLimits): ParsedHeader {
  const json = headerJson(bytes);
  if (!isObject(json)) throw new FoglineError('INVALID_ARG', 'inference header must be a JSON object');
  checkOptionalString(json, 'id', 'inference header');
  checkParameters(json.parameters, 'inference header');
  // OIP: `inputs` is required in a request; `model_name` and `outputs` in a response; `error` in an error.
  if ('inputs' in json) {
    checkTensorList(json, 'inputs', 'input', limits, true);
    if (json.outputs !== undefined) checkTensorList(json, 'outputs', 'requested output', limits, false);
    return { kind: 'request', header: json as unknown as InferRequest };
  }
  if (typeof json.error === 'string') return { kind: 'error', header: json as unknown as InferErrorResponse };
  if ('model_name' in json || 'outputs' in json) {
    if (typeof json.model_name !== 'string') {
      throw new FoglineError('INVALID_ARG', 'inference response: model_name must be a string');
    }
    checkOptionalString(json, 'model_version', 'inference response');
    checkTensorList(json, 'outputs', 'output', limits, true);
    return { kind: 'response', header: json as unknown as InferResponse };
  }
  throw new FoglineError(
    'INVALID_ARG',
    'inference header has neither "inputs" (request), "model_name" and "outputs" (response) nor "error"',
  );
}

/**
 * Below this size a header is parsed whole: it has no long data arrays to gain on (a binary
 * request's header is ~150 bytes; one digit's JSON request, 5.6 kB).
 */
const SCAN_MIN_BYTES = 512;

/**
 * JSON.parse's value of the header. A request's input arrays are read straight from the bytes where
 * the scanner can (header-data-scan.ts); any doubt, and every error, goes through the whole text, so
 * values and messages are the same either way.
 */
function headerJson(bytes: Uint8Array): unknown {
  const scanned = bytes.length >= SCAN_MIN_BYTES ? parseScannedHeader(bytes) : undefined;
  if (scanned !== undefined) return scanned;
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference header is not valid UTF-8 JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

function checkOptionalString(obj: JsonObject, field: string, where: string): void {
  if (obj[field] !== undefined && typeof obj[field] !== 'string') {
    throw new FoglineError('INVALID_ARG', `${where}: ${field} must be a string`);
  }
}

/** OIP: `$parameters` is an object whose values are string, number or boolean. */
function checkParameters(value: unknown, where: string): asserts value is Parameters | undefined {
  if (value === undefined) return;
  if (!isObject(value)) throw new FoglineError('INVALID_ARG', `${where}: parameters must be an object`);
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: parameter "${key}" must be a string, number or boolean`,
      );
    }
  }
}

/** Whether one of the first `i` (checked) tensors of `list` is named `name`. */
function namedBefore(list: readonly unknown[], i: number, name: string): boolean {
  for (let j = 0; j < i; j++) if ((list[j] as JsonObject).name === name) return true;
  return false;
}

function checkTensorList(
  obj: JsonObject,
  field: 'inputs' | 'outputs',
  role: string,
  limits: CodecLimits,
  withShape: boolean,
): void {
  const list = obj[field];
  if (!Array.isArray(list))
    throw new FoglineError('INVALID_ARG', `inference header: ${field} must be an array`);
  if (list.length > limits.maxTensors) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference header: ${list.length} ${field}, more than the limit of ${limits.maxTensors}`,
    );
  }
  // Names seen so far: a request has one tensor or a few, so no Set until there are many.
  const seen = list.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < list.length; i++) {
    const tensor: unknown = list[i];
    if (!isObject(tensor))
      throw new FoglineError('INVALID_ARG', `inference header: ${field}[${i}] must be an object`);
    const { name } = tensor;
    if (typeof name !== 'string' || name === '') {
      throw new FoglineError(
        'INVALID_ARG',
        `inference header: ${field}[${i}].name must be a non-empty string`,
      );
    }
    const where = `${role} "${name}"`;
    if (seen ? seen.has(name) : namedBefore(list, i, name)) {
      throw new FoglineError('INVALID_ARG', `${where} appears more than once`);
    }
    seen?.add(name);
    checkParameters(tensor.parameters, where);
    if (!withShape) continue;
    if (!isDatatype(tensor.datatype)) {
      const shown = JSON.stringify(tensor.datatype) ?? 'undefined';
      throw new FoglineError('INVALID_ARG', `${where}: unknown datatype ${shown.slice(0, 40)}`);
    }
    const size = tensor.parameters?.[BINARY_DATA_SIZE];
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw new FoglineError('INVALID_ARG', `${where}: ${BINARY_DATA_SIZE} must be a non-negative integer`);
      }
      if (tensor.data !== undefined) {
        throw new FoglineError('INVALID_ARG', `${where}: has both ${BINARY_DATA_SIZE} and JSON data`);
      }
    } else if (tensor.data === undefined) {
      throw new FoglineError('INVALID_ARG', `${where}: has neither data nor ${BINARY_DATA_SIZE}`);
    }
  }
}
