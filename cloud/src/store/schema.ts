/**
 * Control-plane tables (drizzle, Postgres dialect; the same schema runs on PGlite and PostgreSQL).
 * Migrations are generated from this file into cloud/drizzle/ (see docs/data.md); never edit those
 * by hand. Secrets are never stored: only scrypt hashes (shared/src/secrets.ts).
 *
 * This file is read by drizzle-kit, so it imports nothing but drizzle-orm.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const revokedAt = () => timestamp('revoked_at', { withTimezone: true });

/** HTTP API keys (`fgl_...`), each with its own token bucket (DESIGN: Resilience). */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull().unique(),
    keyHash: text('key_hash').notNull(),
    /** `fgl_` + first 8 chars of the random part: shown in listings and used to find the row on verify. */
    keyPrefix: text('key_prefix').notNull(),
    ratePerSec: doublePrecision('rate_per_sec').notNull(),
    burst: integer('burst').notNull(),
    createdAt: createdAt(),
    revokedAt: revokedAt(),
  },
  (t) => [
    index('api_keys_key_prefix_idx').on(t.keyPrefix),
    check('api_keys_rate_positive', sql`${t.ratePerSec} > 0`),
    check('api_keys_burst_positive', sql`${t.burst} >= 1`),
  ],
);

/** Edge agents; they authenticate to the cloud broker and the HTTP API with their token. */
export const edges = pgTable('edges', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull(),
  createdAt: createdAt(),
  revokedAt: revokedAt(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
});

/**
 * Devices, each attached to one edge whose broker authenticates it from the synced device list, or
 * to none (`edge_id` null): such a device connects to the cloud broker, which plays its edge.
 */
export const devices = pgTable(
  'devices',
  {
    id: text('id').primaryKey(),
    edgeId: text('edge_id').references(() => edges.id),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: revokedAt(),
  },
  (t) => [index('devices_edge_id_idx').on(t.edgeId)],
);

/** Published model versions (the desired model state the cloud pushes to edges). */
export const modelVersions = pgTable(
  'model_versions',
  {
    model: text('model').notNull(),
    version: integer('version').notNull(),
    tier: text('tier', { enum: ['device', 'edge', 'cloud'] }).notNull(),
    sha256: text('sha256').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
    status: text('status', { enum: ['staged', 'active', 'retired'] }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.version] }),
    check('model_versions_version_positive', sql`${t.version} >= 1`),
    check('model_versions_tier_valid', sql`${t.tier} in ('device', 'edge', 'cloud')`),
    check('model_versions_status_valid', sql`${t.status} in ('staged', 'active', 'retired')`),
    check('model_versions_bytes_nonnegative', sql`${t.bytes} >= 0`),
  ],
);

export const schema = { apiKeys, edges, devices, modelVersions };
