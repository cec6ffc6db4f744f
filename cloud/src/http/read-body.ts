/**
 * Reads a request body with a size limit: a declared Content-Length past the limit is refused
 * before reading anything (413); a chunked body is counted as it arrives and abandoned past it.
 * The bytes may be a view into a larger buffer: callers must not keep them past the request.
 */
import type { IncomingMessage } from 'node:http';
import { FoglineError } from '@fogline/shared/errors';
import type { Context } from 'hono';

export async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const declared = c.req.header('content-length');
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) throw new FoglineError('INVALID_ARG', 'invalid Content-Length');
    if (n > maxBytes) throw tooLarge(n, maxBytes);
  }
  // On a real socket, read the node stream directly: no Request body stream, and a single-chunk body
  // (the usual case for one sample) is used where it lies, without a copy.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead) return readLimited(incoming, maxBytes);
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.byteLength > maxBytes) throw tooLarge(body.byteLength, maxBytes);
  return body;
}

function readLimited(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        incoming.pause();
        reject(tooLarge(size, maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new FoglineError('INVALID_ARG', `request body could not be read: ${err.message}`, { cause: err }),
      );
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
}

function tooLarge(size: number, maxBytes: number): FoglineError {
  return new FoglineError(
    'PAYLOAD_TOO_LARGE',
    `request body of ${size} bytes exceeds the limit of ${maxBytes} bytes`,
    {
      details: { maxBytes },
    },
  );
}
