/**
 * A small LRU in front of a slow credential check (`store.edges.verify` is one scrypt, tens of ms),
 * shared by the cloud broker's CONNECT and the HTTP infer route. Entries are keyed by the subject id
 * and the SHA-256 of the presented secret, never the secret itself. Concurrent lookups of one pair
 * share a single verification. `forget(subject)` (on revoke) drops that subject's entries and voids
 * verifications already under way, so a revocation holds from the next lookup. Successes live
 * `ttlMs`, refusals `negativeTtlMs` (short: an unknown id that is enrolled a moment later is not
 * refused for long, and a wrong token retried in a loop costs one scrypt per period, not per try).
 */
import { createHash } from 'node:crypto';
import { type Clock, systemClock } from '@fogline/shared';

export type CredentialCheck<T> = (subject: string, secret: string) => Promise<T | null>;

export interface CredentialCacheOptions {
  /** Most entries kept; the least recently used goes first. Default 1024. */
  maxEntries?: number;
  /** How long a successful check is trusted. Default 60 s. */
  ttlMs?: number;
  /** How long a refusal is remembered. Default 5 s. */
  negativeTtlMs?: number;
  clock?: Clock;
}

interface Entry<T> {
  subject: string;
  generation: number;
  result: Promise<T | null>;
  expiresAt: number;
  settled: boolean;
  value: T | null;
}

export class CredentialCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly clock: Clock;
  /** Bumped by every forget/clear: verifications started before it do not count. */
  private generation = 0;

  constructor(
    private readonly check: CredentialCheck<T>,
    options: CredentialCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 1024;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  /** The verified value, or null; synchronous on a settled hit (the hot path), else a promise. */
  lookup(subject: string, secret: string): T | null | Promise<T | null> {
    const key = `${subject}\u0000${createHash('sha256').update(secret).digest('base64')}`;
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.settled ? hit.value : this.current(hit, secret);
    }
    const generation = this.generation;
    const entry: Entry<T> = {
      subject,
      generation,
      result: this.check(subject, secret),
      expiresAt: now + this.ttlMs,
      settled: false,
      value: null,
    };
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    entry.result.then(
      (value) => {
        // Revoked while we verified: never keep an answer that predates the revocation.
        if (generation !== this.generation) return this.drop(key, entry);
        entry.value = value;
        entry.settled = true;
        if (value === null)
          entry.expiresAt = Math.min(entry.expiresAt, this.clock.now() + this.negativeTtlMs);
      },
      () => this.drop(key, entry),
    );
    return this.current(entry, secret);
  }

  /** The entry's answer if no revocation happened meanwhile, else a fresh lookup. */
  private current(entry: Entry<T>, secret: string): Promise<T | null> {
    return entry.result.then((value) =>
      entry.generation === this.generation ? value : this.lookup(entry.subject, secret),
    );
  }

  /** Forgets every answer about `subject` and voids every verification in flight. */
  forget(subject: string): void {
    this.forgetWhere((entrySubject) => entrySubject === subject);
  }

  /** Forgets the answers `match` picks and voids every verification in flight. */
  forgetWhere(match: (subject: string, value: T | null) => boolean): void {
    this.generation++;
    for (const [key, entry] of this.entries) {
      if (!entry.settled || match(entry.subject, entry.value)) this.entries.delete(key);
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private drop(key: string, entry: Entry<T>): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
