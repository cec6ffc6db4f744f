/**
 * The little of a request that the infer handler and the body reader use, whatever serves it: the Hono
 * app (`contextView`, here) or node's request on the direct infer path (infer-direct.ts). Header names
 * are asked in lower case and answered as fetch's `Headers.get` answers them.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { remoteAddress } from './remote-address.ts';

export interface RequestView {
  header(name: string): string | undefined;
  /** A path parameter: `model`, `version` on the infer routes. */
  param(name: string): string | undefined;
  /** The connecting socket's address (remote-address.ts). */
  readonly remoteAddress: string | undefined;
  /** node's request, when there is one: read-body.ts reads the body off it while it is unread. */
  readonly incoming: IncomingMessage | undefined;
  /** The whole body, where there is no node request to read (`app.request()`). */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** node's request behind a Hono context served by @hono/node-server; none under `app.request()`. */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/** The Hono route's view of its request. */
export function contextView(c: Context): RequestView {
  const incoming = nodeIncoming(c);
  return {
    header: (name) => c.req.header(name),
    param: (name) => c.req.param(name),
    remoteAddress: remoteAddress(incoming),
    incoming,
    arrayBuffer: () => c.req.arrayBuffer(),
  };
}
