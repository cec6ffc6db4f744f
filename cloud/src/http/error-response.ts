/**
 * OIP error responses: `{"error": "<message>"}` with Triton's HTTP mapping from the error catalogue
 * (INVALID_ARG 400, UNAUTHENTICATED 401, NOT_FOUND 404, PAYLOAD_TOO_LARGE 413, RATE_LIMITED 429 with
 * `Retry-After` in whole seconds (RFC 9110 §10.2.3), UNAVAILABLE 503). `details.closeConnection` ends the
 * connection with the answer (an address over its failed-authentication budget). INTERNAL errors are logged and
 * answered without their internals. An infer request's error also carries its `id` (the OIP request id).
 */
import { FoglineError, fromUnknown } from '@fogline/shared';
import { type Reply, replyResponse } from './reply.ts';

export interface ErrorReply extends Reply {
  body: string;
}

export function errorReply(
  err: unknown,
  log: (e: FoglineError) => void = () => {},
  /** The OIP request `id`, when it could be read: echoed in the body as a response's `id` is. */
  id?: string,
): ErrorReply {
  const e = fromUnknown(err);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (e.code === 'RATE_LIMITED') {
    const ms = Number(e.details?.retryAfterMs ?? 1000);
    headers['retry-after'] = String(Math.max(1, Math.ceil(ms / 1000)));
  }
  if (e.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (e.code === 'PAYLOAD_TOO_LARGE' || e.details?.closeConnection === true) headers.connection = 'close';
  let message = e.message;
  if (e.code === 'INTERNAL') {
    log(e);
    message = `internal error: ${e.message}`;
  }
  const body = id === undefined ? { error: message } : { error: message, id };
  return { status: e.httpStatus, body: JSON.stringify(body), headers };
}

export function errorResponse(err: unknown, log?: (e: FoglineError) => void, id?: string): Response {
  return replyResponse(errorReply(err, log, id));
}

/** Every request's answer while the cloud starts, before its app is built (cloud-server.ts). */
export function startingReply(): ErrorReply {
  return errorReply(new FoglineError('UNAVAILABLE', 'server is starting'));
}

export function startingResponse(): Response {
  return replyResponse(startingReply());
}
