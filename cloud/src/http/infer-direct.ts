/**
 * The direct infer path: a plain OIP infer request (`POST /v2/models/{m}[/versions/{v}]/infer`) is
 * served on node's request and response, with no fetch Request, Hono context or Response built for
 * it. The listener (http-listener.ts) tries it after its gate and before the Hono app; the handler is
 * the route's own (routes/infer.ts `handleInfer`), so both ways answer alike: auth, body limits and
 * codings, metrics, the request log, and the same OIP error replies.
 *
 * Only what Hono would route the same way is taken: a lower-case host as @hono/node-server takes it
 * as it is, and a path with no percent-encoding, dot segment or character that its URL parsing would
 * rewrite. Anything else, and every other method, falls through to the app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudAppDeps } from './app-deps.ts';
import { errorReply, startingReply } from './error-response.ts';
import type { DirectHandler } from './http-listener.ts';
import { remoteAddress } from './remote-address.ts';
import { type Reply, writeReply } from './reply.ts';
import type { RequestView } from './request-view.ts';
import { handleInfer } from './routes/infer.ts';

/** Names, segments of `[\w.-]` that are not `.` or `..`; a query of the characters Hono keeps as they are. */
const INFER_PATH =
  /^\/v2\/models\/(?!\.\.?\/)([\w.-]+)(?:\/versions\/(?!\.\.?\/)([\w.-]+))?\/infer(?:\?[!#$&-;=?-[\]_a-z~]*)?$/;
/** @hono/node-server's host it uses without a URL parse. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/** `deps` is undefined while the cloud starts: plain infer requests are then answered 503, as the app's are. */
export function inferDirect(deps: () => CloudAppDeps | undefined): DirectHandler {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const match = INFER_PATH.exec(req.url ?? '');
    if (match === null || !PLAIN_HOST.test(req.headers.host ?? '')) return false;
    const current = deps();
    if (current === undefined) {
      send(req, res, startingReply());
      return true;
    }
    handleInfer(new NodeRequestView(req, match[1]!, match[2]), current).then(
      (reply) => send(req, res, reply),
      (err) => send(req, res, errorReply(err, current.log)),
    );
    return true;
  };
}

/**
 * Headers node keeps only the first of when repeated: fetch's Headers (so Hono) joins them with
 * ", ", and so does `header` here. node joins the others itself.
 */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

class NodeRequestView implements RequestView {
  readonly remoteAddress: string | undefined;

  constructor(
    readonly incoming: IncomingMessage,
    private readonly model: string,
    private readonly version: string | undefined,
  ) {
    this.remoteAddress = remoteAddress(incoming);
  }

  header(name: string): string | undefined {
    if (FIRST_ONLY.has(name)) return joined(this.incoming.rawHeaders, name);
    const value = this.incoming.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  param(name: string): string | undefined {
    if (name === 'model') return this.model;
    return name === 'version' ? this.version : undefined;
  }

  /** Unused while `incoming` is unread, which it is until handleInfer reads it. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  }
}

function joined(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) {
      value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
  }
  return value;
}

/** A reply that cannot be written (the response already sent or gone) cuts the connection. */
function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  try {
    writeReply(res, reply);
  } catch {
    res.destroy();
    return;
  }
  if (!req.readableEnded) res.once('finish', () => drainUnread(req));
}

const DRAIN_MS = 500;
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * A body left unread by an early answer (401, 413) is read and dropped so the connection can be used
 * again, for at most DRAIN_MS and DRAIN_BYTES, then the connection is cut: as @hono/node-server does.
 */
function drainUnread(req: IncomingMessage): void {
  if (req.readableEnded || req.destroyed) return;
  let bytes = 0;
  const done = () => {
    clearTimeout(timer);
    req.off('data', onData).off('end', done).off('error', done);
  };
  const cut = () => {
    done();
    req.socket.destroySoon();
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > DRAIN_BYTES) cut();
  };
  const timer = setTimeout(cut, DRAIN_MS);
  timer.unref();
  req.on('data', onData).on('end', done).on('error', done);
  req.resume();
}
