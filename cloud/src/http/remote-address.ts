/**
 * The address a request came from: the connecting socket's, never `X-Forwarded-For` (fogline has no
 * trusted-proxy option, so any client could write that header). Behind a reverse proxy every request
 * then shares the proxy's address (docs/security.md "Authentication cost").
 */
import type { IncomingMessage } from 'node:http';

export function remoteAddress(incoming: IncomingMessage | undefined): string | undefined {
  return incoming?.socket?.remoteAddress;
}
