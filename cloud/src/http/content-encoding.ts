/**
 * HTTP content codings as Triton's HTTP endpoint speaks them: request bodies may come
 * `Content-Encoding: gzip` or `deflate` (zlib format, as tritonclient's `zlib.compress` sends; a raw
 * deflate stream is read too), and an inference response is compressed when the client's
 * `Accept-Encoding` asks for gzip or deflate.
 *
 * Decompression is capped: it stops as soon as the output passes the body limit, so a small body
 * that inflates to gigabytes (a zip bomb) costs at most `maxBytes` of memory and is refused with 413.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { FoglineError } from '@fogline/shared';

export type ContentCoding = 'gzip' | 'deflate';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/**
 * The coding of a request body from its `Content-Encoding` header; undefined for none or
 * `identity`. UNSUPPORTED_MEDIA_TYPE (415) for anything else, stacked codings included.
 */
export function requestCoding(header: string | undefined): ContentCoding | undefined {
  if (header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return undefined;
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  throw new FoglineError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding "${header.slice(0, 60)}" is not supported; send gzip, deflate or identity`,
    { details: { contentEncoding: header.slice(0, 60) } },
  );
}

/** Inflates `body` to at most `maxBytes`: PAYLOAD_TOO_LARGE past it, INVALID_ARG for corrupt data. */
export async function decompressBody(
  body: Uint8Array,
  coding: ContentCoding,
  maxBytes: number,
): Promise<Uint8Array> {
  if (body.length === 0) return body;
  // zlib's convenience methods stop and fail with ERR_BUFFER_TOO_LARGE once the output passes
  // maxOutputLength: the output is never produced past the cap.
  const options = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    if (coding === 'gzip') return await gunzip(body, options);
    try {
      return await inflate(body, options);
    } catch (err) {
      // Some clients send `deflate` as a raw deflate stream, without the zlib header.
      if ((err as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw err;
      return await inflateRaw(body, options);
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FoglineError(
        'PAYLOAD_TOO_LARGE',
        `request body inflates past the limit of ${maxBytes} bytes (Content-Encoding: ${coding}; the limit applies after decompression)`,
        { details: { maxBytes }, cause },
      );
    }
    throw new FoglineError(
      'INVALID_ARG',
      `request body is not valid ${coding} data (Content-Encoding: ${coding}): ${(cause as Error).message}`,
      { cause },
    );
  }
}

/**
 * The coding to answer with, from the request's `Accept-Encoding`: gzip or deflate, whichever has
 * the higher q-value (gzip on a tie or for `*`); undefined when the client asks for neither.
 */
export function responseCoding(header: string | undefined): ContentCoding | undefined {
  if (header === undefined || header === '') return undefined;
  let best: ContentCoding | undefined;
  let bestQ = 0;
  let star = 0;
  const q: Partial<Record<ContentCoding, number>> = {};
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    let weight = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q') weight = Number(v);
    }
    if (!Number.isFinite(weight)) weight = 0;
    if (token === 'gzip' || token === 'x-gzip') q.gzip = weight;
    else if (token === 'deflate') q.deflate = weight;
    else if (token === '*') star = weight;
  }
  for (const coding of ['gzip', 'deflate'] as const) {
    const weight = q[coding] ?? star;
    if (weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return best;
}

/** Compresses a response body (deflate = zlib format, as Triton and tritonclient use it). */
export function compressBody(body: Uint8Array, coding: ContentCoding): Promise<Uint8Array> {
  return coding === 'gzip' ? gzip(body) : deflate(body);
}
