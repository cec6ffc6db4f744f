/** The one drizzle database type the repositories are written against (PGlite and node-postgres both fit). */
import { type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { schema } from './schema.ts';

export type StoreDatabase = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Injected wall-clock time for stored timestamps (not the monotonic `Clock` of @fogline/shared/clock). */
export type WallClock = () => Date;

export const systemWallClock: WallClock = () => new Date();

/** `coalesce(column, at)`: sets a timestamp once and keeps it on repeats (idempotent revoke). */
export function keepFirst(column: PgColumn, at: Date): SQL {
  return sql`coalesce(${column}, ${at.toISOString()}::timestamptz)`;
}

/** Ascending by code point (`collate "C"`), so listings sort the same on PGlite and any server locale. */
export function byName(column: PgColumn): SQL {
  return sql`${column} collate "C" asc`;
}
