/**
 * Who may run inference: API keys, and edge agents with their own token
 * (docs/design.md "One inference, end to end", step 4: "authenticated with the edge's own token").
 *
 * Credentials are told apart by shape, never by trying both:
 *   `Authorization: Bearer fgl_...`             an API key (the API-key guard decides),
 *   `Authorization: Bearer <edgeId>:fge_...`    an edge; the id is needed because the token alone
 *                                               names no row (it is only stored as a scrypt hash).
 * A `fge_` token without its edge id is refused with a message that says how to send it. Each edge
 * has its own token bucket (`--edge-rate`, `--edge-burst`; shared by the replicas when clustered,
 * cluster/shared-token-buckets.ts); over it → RATE_LIMITED (429 + Retry-After). With auth off (`--no-auth`) every request passes, as for API keys.
 *
 * `authenticateEdge` is the same check for edge-only endpoints (an edge's own desired state): only the
 * edge form is accepted, the edge's bucket applies, and `--no-auth` does not open it (as the cloud
 * broker always requires edge credentials).
 *
 * With a `throttle` (AuthThrottle, shared with the cloud broker), every presented credential is
 * checked holding a token of its source address's failure budget, taken only if it was wrong, as
 * on the brokers: an address over its budget is refused at once with RATE_LIMITED, before any lookup;
 * one whose checks in flight (HTTP and MQTT together) hold its whole budget waits for one to settle
 * (UNAVAILABLE past `maxWaitMs`); a wrong edge token past its id's failure budget is answered after a
 * delay (a right one never is). A token of the wrong shape is refused unlooked-up.
 */
import {
  type Clock,
  FoglineError,
  fromUnknown,
  isValidId,
  localTokenBuckets,
  type TakeResult,
  type TokenBuckets,
} from '@fogline/shared';
import { type AuthThrottle, holdFor, isSecretShaped, type ReserveResult } from '@fogline/shared/secrets';
import { ConnectionProofs } from '../auth/connection-proofs.ts';
import { bearerToken, type InferenceGuard } from '../auth/inference-guard.ts';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';
import { EDGE_TOKEN_PREFIX } from '../store/edges.ts';
import type { ApiKeyRecord } from '../store/index.ts';
import type { EdgeCredentials } from './edge-credentials.ts';

export interface EdgeRate {
  ratePerSec: number;
  burst: number;
}

export const DEFAULT_EDGE_RATE: Readonly<EdgeRate> = Object.freeze({ ratePerSec: 1000, burst: 2000 });

export interface EdgeInferenceGuard extends InferenceGuard {
  /**
   * The id of the edge presenting `Bearer <edgeId>:<token>`, after one token from its bucket; throws
   * (or rejects with) UNAUTHENTICATED for any other credential, RATE_LIMITED over the bucket.
   */
  authenticateEdge(authorization: string | undefined, source?: string): string | Promise<string>;
  /** Call after an edge is revoked: its next request is refused. */
  revokedEdge(edgeId: string): void;
}

export interface EdgeGuardOptions {
  /** The API-key guard (or `openInferenceGuard()` for --no-auth). */
  keys: InferenceGuard;
  /** Verified edge ids, keyed by (edge id, token). */
  edges: EdgeCredentials;
  rate?: EdgeRate;
  /** Called on every authenticated edge request (e.g. to record `lastSeenAt`). */
  onEdgeSeen?: (edgeId: string) => void;
  /** Failed authentications per source address and per edge id (shared with the cloud broker). */
  throttle?: AuthThrottle;
  metrics?: CloudMetrics;
  /** The edges' token buckets; default in memory (`clock` then times them). */
  buckets?: TokenBuckets;
  clock?: Clock;
}

/** Who a credential proved to be: an edge, or an API key's record. */
type Proven = { readonly edgeId: string } | { readonly record: ApiKeyRecord };

/** What `admit` answers for it: the key's record, or null for an edge. */
function recordOf(who: Proven | Promise<Proven>): ApiKeyRecord | null | Promise<ApiKeyRecord | null> {
  if (who instanceof Promise) return who.then(recordOf) as Promise<ApiKeyRecord | null>;
  return 'record' in who ? who.record : null;
}

/** `<edgeId>:<token>` split, or null when the credential is not in the edge form. */
export function parseEdgeCredential(credential: string): { edgeId: string; token: string } | null {
  const colon = credential.indexOf(':');
  if (colon <= 0) return null;
  const edgeId = credential.slice(0, colon);
  const token = credential.slice(colon + 1);
  return isValidId(edgeId) && token.startsWith(EDGE_TOKEN_PREFIX) ? { edgeId, token } : null;
}

export function edgeInferenceGuard(options: EdgeGuardOptions): EdgeInferenceGuard {
  const { keys, edges, metrics, onEdgeSeen, throttle } = options;
  const rate = options.rate ?? DEFAULT_EDGE_RATE;
  const buckets = options.buckets ?? localTokenBuckets(options.clock);
  const proofs = new ConnectionProofs<Proven>(options.clock);

  const admitEdge = (edgeId: string | null, claimed: string): string | Promise<string> => {
    if (edgeId === null) {
      metrics?.authFailures.inc({ reason: 'invalid' });
      throw new FoglineError('UNAUTHENTICATED', `invalid or revoked token for edge '${claimed}'`);
    }
    const taken = buckets.take(edgeId, rate);
    return taken instanceof Promise ? taken.then((t) => admitted(edgeId, t)) : admitted(edgeId, taken);
  };

  const admitted = (edgeId: string, taken: TakeResult): string => {
    if (!taken.ok) {
      metrics?.rateLimited.inc({ key: `edge:${edgeId}` });
      throw new FoglineError('RATE_LIMITED', `edge '${edgeId}' is over its rate of ${rate.ratePerSec}/s`, {
        details: { retryAfterMs: taken.retryAfterMs, edgeId },
      });
    }
    onEdgeSeen?.(edgeId);
    return edgeId;
  };

  /** Verifies an edge credential (cached), then takes from its bucket. */
  const checkEdge = (edge: { edgeId: string; token: string }): string | Promise<string> => {
    if (!isSecretShaped(edge.token, EDGE_TOKEN_PREFIX)) return admitEdge(null, edge.edgeId);
    const found = edges.lookup(edge.edgeId, edge.token);
    return found instanceof Promise
      ? found.then((id) => admitEdge(id, edge.edgeId))
      : admitEdge(found, edge.edgeId);
  };

  /**
   * Runs `check` holding a token of the source address's failure budget (see the module comment);
   * synchronous when the hold and `check` are. `edgeId`: the id claimed, whose failures past its
   * budget are answered late.
   */
  const throttled = <T>(
    source: string | undefined,
    edgeId: string | undefined,
    check: () => T | Promise<T>,
  ): T | Promise<T> => {
    if (!throttle) return check();
    const gate = throttle.reserve(source);
    return gate instanceof Promise
      ? gate.then((g) => checkHeld(g, source, edgeId, check))
      : checkHeld(gate, source, edgeId, check);
  };

  const checkHeld = <T>(
    gate: ReserveResult,
    source: string | undefined,
    edgeId: string | undefined,
    check: () => T | Promise<T>,
  ): T | Promise<T> => {
    if (!gate.ok) {
      metrics?.authFailures.inc({ reason: 'throttled' });
      const { retryAfterMs } = gate;
      throw gate.reason === 'spent'
        ? new FoglineError(
            'RATE_LIMITED',
            `too many failed authentications from ${source}; retry in ${retryAfterMs} ms`,
            // The connection ends with this answer, as at the listener's gate: the address's next
            // request comes through accept, where a throttled address is cut before any parsing.
            { details: { retryAfterMs, closeConnection: true } },
          )
        : new FoglineError(
            'UNAVAILABLE',
            `too many credential checks under way from ${source}; retry later`,
            {
              details: { retryAfterMs },
            },
          );
    }
    const { reservation } = gate;
    const failed = (err: unknown): never | Promise<never> => {
      // Only a wrong credential counts (over its own request rate, it was right).
      if (fromUnknown(err).code !== 'UNAUTHENTICATED') {
        reservation.release();
        throw err;
      }
      const delayMs = reservation.failed(edgeId);
      if (delayMs === 0) throw err;
      return holdFor(delayMs).then(() => {
        throw err;
      });
    };
    try {
      const result = check();
      if (!(result instanceof Promise)) {
        reservation.release();
        return result;
      }
      return result.then((value) => {
        reservation.release();
        return value;
      }, failed);
    } catch (err) {
      return failed(err);
    }
  };

  const refuseBareEdgeToken = (): never => {
    metrics?.authFailures.inc({ reason: 'invalid' });
    throw new FoglineError(
      'UNAUTHENTICATED',
      'an edge token needs its edge id: send "Authorization: Bearer <edgeId>:<edge token>"',
    );
  };

  /** Checks a credential in full (under the address's budget); answers who it proved to be. */
  const check = (
    authorization: string,
    credential: string,
    source: string | undefined,
  ): Proven | Promise<Proven> => {
    const edge = parseEdgeCredential(credential);
    return throttled(source, edge?.edgeId, (): Proven | Promise<Proven> => {
      if (edge) {
        const admitted = checkEdge(edge);
        return admitted instanceof Promise ? admitted.then((edgeId) => ({ edgeId })) : { edgeId: admitted };
      }
      if (credential.startsWith(EDGE_TOKEN_PREFIX)) refuseBareEdgeToken();
      const record = keys.admit(authorization, source);
      return record instanceof Promise ? record.then((r) => ({ record: r! })) : { record: record! };
    });
  };

  /** A caller its connection proved lately: only its rate token is taken. */
  const readmit = (who: Proven): ApiKeyRecord | null | Promise<ApiKeyRecord | null> => {
    if ('record' in who) return keys.readmit(who.record);
    const admitted = admitEdge(who.edgeId, who.edgeId);
    return admitted instanceof Promise ? admitted.then(() => null) : null;
  };

  return {
    enabled: keys.enabled,
    admit(authorization, source, connection) {
      if (!keys.enabled) return keys.admit(authorization, source);
      const credential = bearerToken(authorization);
      if (credential === undefined) return keys.admit(authorization, source); // missing: refused at once
      if (connection === undefined) return recordOf(check(authorization!, credential, source));
      const proven = proofs.proven(connection, authorization!);
      if (proven !== undefined) return readmit(proven);
      const prove = (who: Proven) => {
        proofs.prove(connection, authorization!, who);
        return recordOf(who);
      };
      const unproven = (err: unknown): never => {
        proofs.forget(connection);
        throw err;
      };
      try {
        const who = check(authorization!, credential, source);
        return who instanceof Promise ? who.then(prove, unproven) : prove(who);
      } catch (err) {
        return unproven(err);
      }
    },
    authenticateEdge(authorization, source) {
      const credential = bearerToken(authorization);
      const edge = credential === undefined ? null : parseEdgeCredential(credential);
      if (edge) return throttled(source, edge.edgeId, () => checkEdge(edge));
      if (credential?.startsWith(EDGE_TOKEN_PREFIX)) refuseBareEdgeToken();
      metrics?.authFailures.inc({ reason: credential === undefined ? 'missing' : 'invalid' });
      throw new FoglineError(
        'UNAUTHENTICATED',
        'an edge credential is required: send "Authorization: Bearer <edgeId>:<edge token>"',
      );
    },
    readmit: (record) => keys.readmit(record),
    revoked(name) {
      keys.revoked(name);
      proofs.forgetAll();
    },
    revokedEdge(edgeId) {
      edges.forget(edgeId);
      buckets.forget(edgeId);
      proofs.forgetAll();
    },
  };
}
