/**
 * The one error catalogue of fogline. Every error that crosses a boundary (HTTP response, MQTT reply,
 * CLI exit) is a FoglineError with a stable code. Codes follow Triton's status codes; HTTP statuses
 * follow Triton/KServe's HTTP mapping. Every code is documented in docs/errors.md (a test enforces it).
 */

export type ErrorCode =
  | 'INVALID_ARG'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'DEADLINE_EXCEEDED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL';

export interface ErrorCatalogueEntry {
  readonly httpStatus: number;
  readonly summary: string;
}

export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorCatalogueEntry>> = Object.freeze({
  INVALID_ARG: { httpStatus: 400, summary: 'The request is malformed or a value is out of range.' },
  UNAUTHENTICATED: { httpStatus: 401, summary: 'Missing or invalid credentials.' },
  PERMISSION_DENIED: { httpStatus: 403, summary: 'The credentials do not allow this action.' },
  NOT_FOUND: {
    httpStatus: 404,
    summary: 'The named model, version, device, edge or resource does not exist.',
  },
  ALREADY_EXISTS: { httpStatus: 409, summary: 'A resource with this name or id already exists.' },
  PAYLOAD_TOO_LARGE: {
    httpStatus: 413,
    summary: 'The request body or MQTT packet exceeds the configured limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    httpStatus: 415,
    summary: 'The request body is in an encoding (Content-Encoding) the server does not read.',
  },
  RATE_LIMITED: { httpStatus: 429, summary: 'The caller exceeded its token-bucket rate; retry later.' },
  INTERNAL: { httpStatus: 500, summary: 'An unexpected failure inside fogline.' },
  UNAVAILABLE: { httpStatus: 503, summary: 'The model or upstream tier is not ready or not reachable.' },
  RESOURCE_EXHAUSTED: { httpStatus: 503, summary: 'A bounded queue or pool, or the disk, is full.' },
  DEADLINE_EXCEEDED: { httpStatus: 504, summary: 'The latency budget ran out before an answer was ready.' },
});

export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_CATALOGUE) as ErrorCode[]);

/**
 * The code of a fogline (or any OIP) HTTP error answer: the inverse of the catalogue's code → status.
 * 503 is both UNAVAILABLE and RESOURCE_EXHAUSTED and reads as UNAVAILABLE (retry later); another 5xx
 * (a proxy's 502, say) as UNAVAILABLE too, the upstream tier being unreachable; any other status as
 * INTERNAL.
 */
export function codeForHttpStatus(status: number): ErrorCode {
  if (status === 503) return 'UNAVAILABLE';
  const code = ERROR_CODES.find((c) => ERROR_CATALOGUE[c].httpStatus === status);
  if (code !== undefined) return code;
  return status >= 500 && status <= 599 ? 'UNAVAILABLE' : 'INTERNAL';
}

/**
 * The code of a status a server refused a download or file GET with, as every fogline client reads
 * one (an edge fetching from the cloud's model store, a device from its edge's file listener): 401,
 * 403 and 404 as the catalogue has them (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND); any other
 * status is UNAVAILABLE, so a 5xx, 408 or 429 stays retryable (`isTransientFailure`, which reads the
 * status in `details.httpStatus`) and a 500 is not taken for a bug of this side (INTERNAL).
 */
export function codeForRefusal(status: number): ErrorCode {
  return status === 401 || status === 403 || status === 404 ? codeForHttpStatus(status) : 'UNAVAILABLE';
}

/** A server's refusal with `codeForRefusal(status)`, the status kept in `details.httpStatus`. */
export function httpRefusal(status: number, message: string): FoglineError {
  return new FoglineError(codeForRefusal(status), message, { details: { httpStatus: status } });
}

export interface FoglineErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class FoglineError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: FoglineErrorOptions) {
    // ES2022 error cause: only set when given, so `'cause' in err` stays meaningful.
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'FoglineError';
    this.code = code;
    this.httpStatus = ERROR_CATALOGUE[code].httpStatus;
    if (options?.details !== undefined) this.details = options.details;
  }
}

export function isFoglineError(e: unknown): e is FoglineError {
  return e instanceof FoglineError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Wraps anything thrown into a FoglineError; FoglineErrors pass through unchanged. */
export function fromUnknown(err: unknown): FoglineError {
  if (isFoglineError(err)) return err;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  return new FoglineError('INTERNAL', message, { cause: err });
}

/** OIP: error responses carry `{"error": "<message>"}`. */
export function toErrorBody(err: unknown): { error: string } {
  return { error: fromUnknown(err).message };
}
