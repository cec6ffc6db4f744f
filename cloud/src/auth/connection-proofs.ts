/**
 * What each keep-alive HTTP connection last proved: the `Authorization` header it presented and who
 * that made it. A client sends the same header on every request of a connection, so a request that
 * repeats, on the same connection, the header proved there less than PROOF_TTL_MS ago, with nothing
 * revoked since, is that caller again: the guard skips the credential check (the hash, the cache
 * lookup and the address's failure-budget reservation, which exist for checks that can fail) and only
 * takes the caller's rate token. On a lone request after an inference, when the credential check's code
 * and data have left the CPU's caches, that check was tens of µs (`npm run bench -- cloud`, c=1).
 *
 * - Any revocation (`forgetAll`) drops every proof: the revoked caller's next request is checked in
 *   full and refused, as without proofs.
 * - A connection that presents another header is checked in full; its proof is then the new one's,
 *   or none if it failed.
 * - The header is compared in constant time: a connection shared by several clients (a proxy's
 *   upstream keep-alive) must not leak, through timing, the header another client proved on it.
 * - Proofs are held by the connection (its socket, weakly): none outlives it.
 */
import { type Clock, systemClock } from '@fogline/shared';

/** How long a connection's proof stands before its header is checked in full again. */
export const PROOF_TTL_MS = 1000;

interface Proof<T> {
  readonly authorization: string;
  readonly who: T;
  readonly until: number;
}

export class ConnectionProofs<T> {
  private proofs = new WeakMap<object, Proof<T>>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** Who `connection` proved to be with `authorization`, if it did lately and nothing was revoked since. */
  proven(connection: object, authorization: string): T | undefined {
    const proof = this.proofs.get(connection);
    if (proof === undefined || !sameText(proof.authorization, authorization)) return undefined;
    if (proof.until > this.clock.now()) return proof.who;
    this.proofs.delete(connection);
    return undefined;
  }

  /** `connection` has just proved to be `who` with `authorization`. */
  prove(connection: object, authorization: string, who: T): void {
    this.proofs.set(connection, { authorization, who, until: this.clock.now() + PROOF_TTL_MS });
  }

  /** `connection` presented a header that failed: it has no proof. */
  forget(connection: object): void {
    this.proofs.delete(connection);
  }

  /** Something was revoked: every connection is checked in full again. */
  forgetAll(): void {
    this.proofs = new WeakMap();
  }
}

/** Equal strings, in time that depends on their length only. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
