/**
 * Dashboard sessions (docs/dashboard.md "Signing in"): the admin token, posted once, buys a random
 * session id carried by an HttpOnly cookie; logout revokes it; it expires after `ttlMs`. Kept in
 * memory: one cloud replica, and a restart signs everyone out.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '@fogline/shared';

export const SESSION_COOKIE = 'fogline_session';

export interface WebSessionOptions {
  /** How long a session lasts from login, ms. */
  ttlMs: number;
  /** Sessions kept at most; the oldest goes first. */
  maxSessions: number;
  clock?: Clock;
}

export const DEFAULT_WEB_SESSION_OPTIONS: Readonly<WebSessionOptions> = Object.freeze({
  ttlMs: 8 * 3600_000,
  maxSessions: 1000,
});

export interface WebSession {
  id: string;
  expiresAt: number;
}

export class WebSessions {
  private readonly sessions = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly options: WebSessionOptions = DEFAULT_WEB_SESSION_OPTIONS) {
    this.clock = options.clock ?? systemClock;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  create(): WebSession {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = this.clock.now() + this.options.ttlMs;
    this.sessions.set(id, expiresAt);
    // Map order is insertion order: the first keys are the oldest sessions.
    for (const old of this.sessions.keys()) {
      if (this.sessions.size <= this.options.maxSessions) break;
      this.sessions.delete(old);
    }
    return { id, expiresAt };
  }

  /** The live session of `id`, or undefined (unknown, revoked or expired; an expired one is dropped). */
  get(id: string | undefined): WebSession | undefined {
    if (id === undefined) return undefined;
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return undefined;
    if (expiresAt <= this.clock.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return { id, expiresAt };
  }

  revoke(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
