/** Shared helpers of the Store contract suite (store.contract.ts and its per-repository parts). */
import { expect } from 'vitest';
import type { WallClock } from './database.ts';
import type { StoreConnection } from './drizzle-store.ts';
import type { Store } from './store.ts';

/** Live view of the store under test; the suite swaps both when it re-opens the database. */
export interface StoreUnderTest {
  readonly store: Store;
  readonly connection: StoreConnection;
}

let counter = 0;
/** One database serves a whole suite, so every test names its records uniquely. */
export const unique = (prefix: string) => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** A wall clock that advances one second per reading, so every timestamp is distinct and predictable. */
export function steppingWallClock(): WallClock {
  let ms = Date.parse('2030-01-01T00:00:00Z');
  return () => {
    ms += 1_000;
    return new Date(ms);
  };
}

export const BAD_NAMES = ['', '.hidden', '-dash', 'has space', 'a/b', 'x'.repeat(65), 'fogline/v1/#', 'é'];

export const rejectsWith = (code: string) => expect.objectContaining({ name: 'FoglineError', code });
