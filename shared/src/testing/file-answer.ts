/**
 * A model file as the real servers answer a GET of it (the cloud's model store route, the edge's
 * device file listener): the whole file, or the part its `Range` asks for while `If-Range` names its
 * ETag (core/byte-range.ts). For the tests' own file servers, which cut, delay or fail answers around it.
 */
import type { IncomingMessage } from 'node:http';
import { byteRangeOf, contentRangeOf } from '../core/byte-range.ts';

export interface FileAnswer {
  readonly status: 200 | 206;
  readonly headers: Record<string, string>;
  /** The bytes to send. */
  readonly body: Uint8Array;
}

/** The answer to `req` for `bytes` tagged `etag` (a range past the end is answered whole: tests ask none). */
export function fileAnswer(req: IncomingMessage, bytes: Uint8Array, etag: string): FileAnswer {
  const range = byteRangeOf(
    { range: req.headers.range, ifRange: req.headers['if-range'] },
    bytes.length,
    etag,
  );
  const part = range.kind === 'part' ? range : { start: 0, end: bytes.length - 1 };
  const body = bytes.subarray(part.start, part.end + 1);
  return {
    status: range.kind === 'part' ? 206 : 200,
    headers: {
      etag,
      'content-length': String(body.length),
      ...(range.kind === 'part' && { 'content-range': contentRangeOf(range, bytes.length) }),
    },
    body,
  };
}
