/**
 * Small LRU in front of `apiKeys.verify` (one scrypt, tens of ms). Keyed by the SHA-256 of the
 * presented key, never the key itself. Concurrent lookups of one key share a single verification;
 * `invalidateName` (on revoke) drops that key's entries and voids verifications already under way,
 * so a revocation takes effect on the next request. Entries also expire after `ttlMs`, which bounds
 * how long a revocation made by another replica can go unnoticed.
 */
import { createHash } from 'node:crypto';
import { type Clock, systemClock } from '@fogline/shared';
import type { ApiKeyRecord } from '../store/index.ts';

export interface ApiKeyCacheOptions {
  verify: (key: string) => Promise<ApiKeyRecord | null>;
  maxEntries?: number;
  ttlMs?: number;
  clock?: Clock;
}

interface Entry {
  result: Promise<ApiKeyRecord | null>;
  expiresAt: number;
  /** Set once `result` settles (hot path: answered without a promise). */
  settled: boolean;
  record: ApiKeyRecord | null;
  /** Known once `result` settles; used to invalidate by name. */
  name?: string;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private generation = 0;

  constructor(private readonly options: ApiKeyCacheOptions) {
    this.maxEntries = options.maxEntries ?? 1024;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The key's record, or null for an unknown, wrong or revoked key. A settled cache hit is answered
   * synchronously (no promise on the hot path); a miss or a verification under way returns a promise.
   */
  lookup(key: string): ApiKeyRecord | null | Promise<ApiKeyRecord | null> {
    const id = createHash('sha256').update(key).digest('base64');
    const now = this.clock.now();
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > now) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit.settled ? hit.record : hit.result;
    }
    const generation = this.generation;
    const entry: Entry = {
      result: this.options.verify(key),
      expiresAt: now + this.ttlMs,
      settled: false,
      record: null,
    };
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    entry.result.then(
      (record) => {
        // Revoked while we verified: do not keep an answer that predates the revocation.
        if (generation !== this.generation) return this.drop(id, entry);
        entry.record = record;
        entry.settled = true;
        if (record) entry.name = record.name;
      },
      () => this.drop(id, entry),
    );
    return entry.result.then((record) => (generation === this.generation ? record : this.lookup(key)));
  }

  /** Forgets every cached answer for the key called `name` (and any verification in flight). */
  invalidateName(name: string): void {
    this.generation++;
    for (const [id, entry] of this.entries) {
      if (entry.name === name || entry.name === undefined) this.entries.delete(id);
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private drop(id: string, entry: Entry): void {
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }
}
