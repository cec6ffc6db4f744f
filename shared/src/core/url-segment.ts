/**
 * A value from outside (a CLI argument, a config field) placed as one segment of a URL path.
 * Percent-encoding keeps `/`, `?`, `#` and `%` inside the segment, but not `.` and `..`: a URL parser
 * resolves those (WHATWG URL, "single-dot" and "double-dot" segments), so `/api/edges/../policy`
 * would be sent as `/api/policy`, another route. They are refused here (docs/security.md "Paths from
 * outside").
 */
import { FoglineError } from './errors.ts';

/** Whether `value` is `.` or `..`, which no percent-encoding keeps in a URL path. */
export function isDotSegment(value: string): boolean {
  return value === '.' || value === '..';
}

/** `encodeURIComponent(value)`; INVALID_ARG naming `field` when it is empty, `.` or `..`. */
export function urlSegment(field: string, value: string): string {
  if (value === '' || isDotSegment(value)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${field} ${JSON.stringify(value)} cannot be a segment of a URL path`,
      { details: { field, value } },
    );
  }
  return encodeURIComponent(value);
}
