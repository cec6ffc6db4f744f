/**
 * The HTTP listener's first check (docs/security.md "Authentication cost"): a request that carries
 * credentials from an address over its failed-authentication budget is answered 429 before routing,
 * so a flood from that address costs a parse and a short reply each. Requests without credentials
 * (health probes, the dashboard's pages) pass: they never spend the budget.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthThrottle } from '@fogline/shared/secrets';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';

/** The Retry-After (ms) to refuse `req` with, or undefined to serve it. */
export type AuthGate = (req: IncomingMessage) => number | undefined;

export function authGate(throttle: AuthThrottle, metrics?: CloudMetrics): AuthGate {
  return (req) => {
    if (req.headers.authorization === undefined) return undefined;
    const blockedMs = throttle.blockedFor(req.socket.remoteAddress);
    if (blockedMs === 0) return undefined;
    metrics?.authFailures.inc({ reason: 'throttled' });
    return blockedMs;
  };
}
