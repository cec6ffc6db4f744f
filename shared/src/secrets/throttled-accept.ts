/**
 * Fail2ban at accept (docs/security.md "Authentication cost"): while an address is over its
 * failed-authentication budget (AuthThrottle.blockedFor), every new connection from it is destroyed
 * the moment it is accepted, before a TLS handshake, an HTTP parser or an MQTT CONNECT: a flood from a
 * spent address then costs an accept and a close each, not a parsed request. An address with budget
 * left is never touched, and one gets back in as soon as its bucket refills a token.
 */
import type { Server, Socket } from 'node:net';
import type { AuthThrottle } from './auth-throttle.ts';

/**
 * Cuts `server`'s new connections from throttled addresses, `onCut` once each; returns the detach
 * function. Runs before the server's own 'connection' handling (Node's HTTP and TLS servers see
 * only a destroyed socket, and close it); a plain `net` server's handler must skip a destroyed socket.
 */
export function cutThrottledAtAccept(server: Server, throttle: AuthThrottle, onCut: () => void): () => void {
  const onConnection = (socket: Socket) => {
    if (throttle.blockedFor(socket.remoteAddress) === 0) return;
    socket.destroy();
    onCut();
  };
  server.prependListener('connection', onConnection);
  return () => server.off('connection', onConnection);
}
