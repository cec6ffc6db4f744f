import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  codeForHttpStatus,
  codeForRefusal,
  ERROR_CATALOGUE,
  ERROR_CODES,
  FoglineError,
  fromUnknown,
  httpRefusal,
  isErrorCode,
  isFoglineError,
  toErrorBody,
} from './errors.ts';
import { isTransientFailure } from './retry-backoff.ts';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** The text of the `### CODE` section, up to the next heading. */
function section(code: string): string | undefined {
  const start = docs.indexOf(`\n### ${code}\n`);
  if (start < 0) return undefined;
  const next = docs.indexOf('\n#', start + 1);
  return docs.slice(start, next < 0 ? undefined : next);
}

describe('error catalogue', () => {
  it.each(ERROR_CODES)('%s is documented in docs/errors.md with its HTTP status', (code) => {
    const text = section(code);
    expect(text, `docs/errors.md has no "### ${code}" section`).toBeDefined();
    expect(text).toContain(`HTTP ${ERROR_CATALOGUE[code].httpStatus}`);
    expect(text).toMatch(/When:/);
    expect(text).toMatch(/MQTT:/);
  });

  it('maps codes to HTTP statuses as Triton/KServe do', () => {
    const statuses = Object.fromEntries(ERROR_CODES.map((c) => [c, ERROR_CATALOGUE[c].httpStatus]));
    expect(statuses).toEqual({
      INVALID_ARG: 400,
      UNAUTHENTICATED: 401,
      PERMISSION_DENIED: 403,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      RATE_LIMITED: 429,
      INTERNAL: 500,
      UNAVAILABLE: 503,
      RESOURCE_EXHAUSTED: 503,
      DEADLINE_EXCEEDED: 504,
    });
  });
});

describe('codeForHttpStatus', () => {
  it('inverts the catalogue: an error that crossed HTTP keeps its code', () => {
    for (const code of ERROR_CODES) {
      if (code === 'RESOURCE_EXHAUSTED') continue; // shares 503 with UNAVAILABLE
      expect(codeForHttpStatus(ERROR_CATALOGUE[code].httpStatus), code).toBe(code);
    }
  });

  it('reads 503 as UNAVAILABLE, other 5xx as UNAVAILABLE, and anything else as INTERNAL', () => {
    expect(codeForHttpStatus(503)).toBe('UNAVAILABLE');
    expect(codeForHttpStatus(502)).toBe('UNAVAILABLE');
    expect(codeForHttpStatus(500)).toBe('INTERNAL');
    expect(codeForHttpStatus(405)).toBe('INTERNAL');
    expect(codeForHttpStatus(302)).toBe('INTERNAL');
  });
});

describe('codeForRefusal', () => {
  it('reads 401, 403 and 404 as the catalogue does, and any other status as UNAVAILABLE', () => {
    expect(codeForRefusal(401)).toBe('UNAUTHENTICATED');
    expect(codeForRefusal(403)).toBe('PERMISSION_DENIED');
    expect(codeForRefusal(404)).toBe('NOT_FOUND');
    for (const status of [400, 408, 416, 429, 500, 502, 503])
      expect(codeForRefusal(status)).toBe('UNAVAILABLE');
  });

  it('keeps the status, so a 5xx, 408 or 429 is retried and a 401, 403 or 404 is not', () => {
    const retried = [401, 403, 404, 408, 429, 500, 503].filter((s) =>
      isTransientFailure(httpRefusal(s, 'x')),
    );
    expect(retried).toEqual([408, 429, 500, 503]);
    expect(httpRefusal(403, 'refused')).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'refused',
      details: { httpStatus: 403 },
    });
  });
});

describe('FoglineError', () => {
  it('carries code, HTTP status, details and the ES2022 cause', () => {
    const cause = new Error('socket hang up');
    const err = new FoglineError('UNAVAILABLE', 'cloud unreachable', { cause, details: { tier: 'cloud' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.httpStatus).toBe(503);
    expect(err.cause).toBe(cause);
    expect(err.details).toEqual({ tier: 'cloud' });
    expect(err.name).toBe('FoglineError');
    expect(isFoglineError(err)).toBe(true);
    expect(isFoglineError(cause)).toBe(false);
  });

  it('has no cause property when none is given', () => {
    expect('cause' in new FoglineError('NOT_FOUND', 'no model x')).toBe(false);
  });

  it('wraps unknown errors as INTERNAL with cause, and passes FoglineErrors through', () => {
    const raw = new TypeError('boom');
    const wrapped = fromUnknown(raw);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBe(raw);
    expect(wrapped.message).toBe('boom');
    expect(fromUnknown('text').message).toBe('text');
    expect(fromUnknown(42).cause).toBe(42);
    const known = new FoglineError('RATE_LIMITED', 'slow down');
    expect(fromUnknown(known)).toBe(known);
  });

  it('renders the OIP error body', () => {
    expect(toErrorBody(new FoglineError('NOT_FOUND', 'model "x" not found'))).toEqual({
      error: 'model "x" not found',
    });
    expect(toErrorBody(new Error('oops'))).toEqual({ error: 'oops' });
  });

  it('recognises error codes', () => {
    expect(isErrorCode('INVALID_ARG')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(3)).toBe(false);
  });
});
