/**
 * What the gateway's framework-agnostic handlers answer — status, headers, body — and the two ways it
 * leaves: as a fetch Response (the Hono app, `app.request()`), or written on node's response (the
 * direct infer path, infer-direct.ts). Headers are a plain object,
 * without Content-Length (the writer adds it).
 */
import type { ServerResponse } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/**
 * A Response with a plain headers object: @hono/node-server writes it as it is, with no Headers
 * object built and read back (Hono's c.body would make one).
 */
export function replyResponse(reply: Reply): Response {
  const body = reply.body as Uint8Array<ArrayBuffer> | string;
  return new Response(body, { status: reply.status, headers: reply.headers });
}

/**
 * Writes `reply` as @hono/node-server writes replyResponse(reply): the same status, the headers and a
 * Content-Length. The reply's headers object is written as it is (Content-Length added to it): a
 * reply is written once. Headers set on `res` before (`connection: close` while closing) stay.
 */
export function writeReply(res: ServerResponse, reply: Reply): void {
  const { body, headers } = reply;
  headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  res.writeHead(reply.status, headers);
  res.end(body);
}
