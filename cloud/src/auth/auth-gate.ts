/**
 * The HTTP listener's first checks (docs/security.md "Authentication cost"), against an address over
 * its failed-authentication budget:
 * - at accept, its new connections are destroyed before any parsing (throttled-accept.ts; MQTT over
 *   WebSocket on this listener included), counted as `fogline_auth_failures_total{reason="throttled-at-accept"}`;
 * - on a connection accepted before its budget ran out, a request that carries credentials is answered
 *   429 before routing, and the connection closed after it (`Connection: close`), so the address's next
 *   request comes through accept again. Counted as `reason="throttled"`.
 *
 * Requests without credentials on an open connection (health probes, the dashboard's pages) pass: they
 * never spend the budget.
 */
import type { IncomingMessage, Server } from 'node:http';
import { type AuthThrottle, cutThrottledAtAccept } from '@fogline/shared/secrets';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';

/** The Retry-After (ms) to refuse `req` with, or undefined to serve it. */
export type AuthGate = (req: IncomingMessage) => number | undefined;

/** Cuts `server`'s throttled connections at accept; returns the per-request gate. */
export function authGate(server: Server, throttle: AuthThrottle, metrics?: CloudMetrics): AuthGate {
  cutThrottledAtAccept(server, throttle, () => metrics?.authFailures.inc({ reason: 'throttled-at-accept' }));
  return (req) => {
    if (req.headers.authorization === undefined) return undefined;
    const blockedMs = throttle.blockedFor(req.socket.remoteAddress);
    if (blockedMs === 0) return undefined;
    metrics?.authFailures.inc({ reason: 'throttled' });
    return blockedMs;
  };
}
