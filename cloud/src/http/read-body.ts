/**
 * Reads a request body with a size limit: a declared Content-Length past the limit is refused
 * before reading anything (413); a chunked body is counted as it arrives and abandoned past it.
 * A body sent `Content-Encoding: gzip|deflate` is inflated, the limit applying to the inflated
 * bytes as well (content-encoding.ts); another coding is refused with 415 before anything is read.
 * The bytes may be a view into a larger buffer: callers must not keep them past the request.
 */
import type { IncomingMessage } from 'node:http';
import { FoglineError } from '@fogline/shared';
import { decompressBody, requestCoding } from './content-encoding.ts';
import type { RequestView } from './request-view.ts';

export function readBody(view: RequestView, maxBytes: number): Promise<Uint8Array> {
  const header = view.header('content-encoding');
  // The usual case, no coding, adds no promise of its own.
  if (header === undefined) return readRaw(view, maxBytes);
  try {
    const coding = requestCoding(header);
    const body = readRaw(view, maxBytes);
    return coding === undefined ? body : body.then((raw) => decompressBody(raw, coding, maxBytes));
  } catch (err) {
    return Promise.reject(err);
  }
}

async function readRaw(view: RequestView, maxBytes: number): Promise<Uint8Array> {
  const declared = view.header('content-length');
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) throw new FoglineError('INVALID_ARG', 'invalid Content-Length');
    if (n > maxBytes) throw tooLarge(n, maxBytes);
  }
  // On a real socket, read the node stream directly: no Request body stream, and a single-chunk body
  // (the usual case for one sample) is used where it lies, without a copy.
  const { incoming } = view;
  if (incoming && !incoming.readableDidRead) return readLimited(incoming, maxBytes);
  const body = new Uint8Array(await view.arrayBuffer());
  if (body.byteLength > maxBytes) throw tooLarge(body.byteLength, maxBytes);
  return body;
}

function readLimited(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => new LimitedRead(incoming, maxBytes, resolve, reject));
}

/**
 * One body being read. A class with bound methods rather than closures: this runs for every request,
 * and under tsx each named closure costs an extra `Object.defineProperty` (esbuild's keepNames).
 */
class LimitedRead {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly maxBytes: number,
    private readonly resolve: (body: Uint8Array) => void,
    private readonly reject: (err: FoglineError) => void,
  ) {
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
    incoming.on('data', this.onData);
    incoming.on('end', this.onEnd);
    incoming.on('error', this.onError);
  }

  private onData(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.cleanup();
      this.incoming.pause();
      this.reject(tooLarge(this.size, this.maxBytes));
      return;
    }
    this.chunks.push(chunk);
  }

  private onEnd(): void {
    this.cleanup();
    this.resolve(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size));
  }

  private onError(err: Error): void {
    this.cleanup();
    this.reject(
      new FoglineError('INVALID_ARG', `request body could not be read: ${err.message}`, { cause: err }),
    );
  }

  private cleanup(): void {
    this.incoming.off('data', this.onData);
    this.incoming.off('end', this.onEnd);
    this.incoming.off('error', this.onError);
  }
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
