/**
 * Which bytes of a file a GET asks for (RFC 9110 §14): one home for the servers of model files, the
 * cloud's model store route and the edge's device file listener. Pure: the server reads the
 * headers, this says what to send, the server sends it.
 *
 * - no `Range`, a form not served (several ranges, another unit) or bad syntax → the whole file
 *   (200): RFC 9110 §14.2 lets a server ignore a Range it does not serve, and a bad one is ignored;
 * - `If-Range` that is not the file's strong ETag (another file now, a weak tag, a date) → the whole
 *   file (§13.1.5): the client's part belongs to other bytes;
 * - one satisfiable `bytes=a-b`, `bytes=a-` or `bytes=-n` → that part (206, `Content-Range`);
 * - one that starts past the end, or `bytes=-0`, or any range of an empty file → 416 with
 *   a Content-Range that names the size (§15.5.17).
 */

export type ByteRangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'part'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const WHOLE: ByteRangeAnswer = Object.freeze({ kind: 'whole' });
const UNSATISFIABLE: ByteRangeAnswer = Object.freeze({ kind: 'unsatisfiable' });
// §14.1.2: range-unit "=" int-range / suffix-range, OWS around; one range-spec only.
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d{0,15})-(\d{0,15})[ \t]*$/i;

/** What to send for `range` / `ifRange` (the request's headers) of a file of `size` bytes tagged `etag`. */
export function byteRangeOf(
  request: { readonly range?: string | undefined; readonly ifRange?: string | readonly string[] | undefined },
  size: number,
  etag: string,
): ByteRangeAnswer {
  if (request.range === undefined) return WHOLE;
  // §13.1.5: only a strong ETag equal to the current one keeps the range; a date is not one.
  const { ifRange } = request;
  if (
    ifRange !== undefined &&
    (typeof ifRange !== 'string' || ifRange.trim() !== etag || etag.startsWith('W/'))
  ) {
    return WHOLE;
  }
  const m = SINGLE_RANGE.exec(request.range);
  if (!m || (m[1] === '' && m[2] === '')) return WHOLE;
  if (m[1] === '') {
    // suffix-range: the last n bytes.
    const n = Number(m[2]);
    return n === 0 || size === 0
      ? UNSATISFIABLE
      : { kind: 'part', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? undefined : Number(m[2]);
  // §14.1.1: a last-pos below the first-pos makes the range-spec invalid: ignored.
  if (last !== undefined && last < start) return WHOLE;
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'part', start, end: Math.min(last ?? size - 1, size - 1) };
}

/** `Content-Range` of a 206 part, or of a 416 (`part` undefined). */
export function contentRangeOf(part: { start: number; end: number } | undefined, size: number): string {
  return part === undefined ? `bytes */${size}` : `bytes ${part.start}-${part.end}/${size}`;
}
