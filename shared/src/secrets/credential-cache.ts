/**
 * A small LRU in front of a slow credential check (one scrypt, tens of ms), used by the cloud broker's
 * CONNECT, the HTTP gateway (API keys and edge tokens) and an edge's device list. Entries are keyed by
 * the subject id and the SHA-256 of the presented secret, never the secret itself. Concurrent lookups of
 * one pair share a single verification. `forget(subject)` (on revoke) drops that subject's entries and
 * voids verifications already under way, so a revocation holds from the next lookup.
 *
 * Successes live `ttlMs` in `maxEntries` slots. Refusals live `negativeTtlMs` (short: an id enrolled a
 * moment later is not refused for long; a wrong token retried in a loop costs one scrypt per period,
 * not per try) in `maxNegativeEntries` slots of their own, and checks under way are held apart too: a
 * flood of wrong credentials never evicts a verified one. Callers refuse credentials of the wrong shape
 * before any lookup, so they take no slot at all.
 */
import * as crypto from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.ts';

export type CredentialCheck<T> = (subject: string, secret: string) => Promise<T | null>;

export interface CredentialCacheOptions {
  /** Most verified credentials kept; the least recently used goes first. Default 1024. */
  maxEntries?: number;
  /** How long a successful check is trusted. Default 60 s. */
  ttlMs?: number;
  /** Most refusals kept, apart from the verified ones. Default 1024. */
  maxNegativeEntries?: number;
  /** How long a refusal is remembered. Default 5 s. */
  negativeTtlMs?: number;
  clock?: Clock;
}

interface Answer<T> {
  subject: string;
  value: T | null;
  expiresAt: number;
}

interface Pending<T> {
  subject: string;
  generation: number;
  result: Promise<T | null>;
}

export class CredentialCache<T> {
  private readonly positive = new Map<string, Answer<T>>();
  private readonly negative = new Map<string, Answer<T>>();
  private readonly pending = new Map<string, Pending<T>>();
  private readonly maxEntries: number;
  private readonly maxNegativeEntries: number;
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
    this.maxNegativeEntries = options.maxNegativeEntries ?? 1024;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  /** The verified value, or null; synchronous on a settled hit (the hot path), else a promise. */
  lookup(subject: string, secret: string): T | null | Promise<T | null> {
    const key = `${subject}\u0000${sha256(secret)}`;
    const now = this.clock.now();
    const hit = this.hit(this.positive, key, now) ?? this.hit(this.negative, key, now);
    if (hit !== undefined) return hit.value;
    const under = this.pending.get(key);
    if (under) return this.current(under, secret);
    const generation = this.generation;
    const entry: Pending<T> = { subject, generation, result: this.check(subject, secret) };
    this.pending.set(key, entry);
    entry.result.then(
      (value) => {
        if (this.pending.get(key) === entry) this.pending.delete(key);
        // Revoked while we verified: never keep an answer that predates the revocation.
        if (generation !== this.generation) return;
        const [answers, max, ttl] =
          value === null
            ? [this.negative, this.maxNegativeEntries, this.negativeTtlMs]
            : [this.positive, this.maxEntries, this.ttlMs];
        answers.set(key, { subject, value, expiresAt: this.clock.now() + ttl });
        if (answers.size > max) answers.delete(answers.keys().next().value!);
      },
      () => {
        if (this.pending.get(key) === entry) this.pending.delete(key);
      },
    );
    return this.current(entry, secret);
  }

  /** Verified credentials held now (refusals and checks under way not counted). */
  get size(): number {
    return this.positive.size;
  }

  /** `key`'s unexpired answer in `answers`, made the most recently used; an expired one is dropped. */
  private hit(answers: Map<string, Answer<T>>, key: string, now: number): Answer<T> | undefined {
    const hit = answers.get(key);
    if (hit === undefined) return undefined;
    answers.delete(key);
    if (hit.expiresAt <= now) return undefined;
    answers.set(key, hit); // refresh recency: Map iteration order is insertion order
    return hit;
  }

  /** The entry's answer if no revocation happened meanwhile, else a fresh lookup. */
  private current(entry: Pending<T>, secret: string): Promise<T | null> {
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
    this.pending.clear();
    for (const answers of [this.positive, this.negative]) {
      for (const [key, answer] of answers) {
        if (match(answer.subject, answer.value)) answers.delete(key);
      }
    }
  }

  clear(): void {
    this.generation++;
    this.pending.clear();
    this.positive.clear();
    this.negative.clear();
  }
}

/**
 * Base64 SHA-256 of a secret: the one-shot `crypto.hash` (Node ≥ 20.12) where there is one, a
 * third of `createHash`'s cost on every authenticated request.
 */
const sha256: (secret: string) => string =
  typeof crypto.hash === 'function'
    ? (secret) => crypto.hash('sha256', secret, 'base64')
    : (secret) => crypto.createHash('sha256').update(secret).digest('base64');
