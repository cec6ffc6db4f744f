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
  jsonb,
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

/**
 * Field records (docs/field-accuracy.md "Audits"): one audited request with every tier's answer and
 * the cloud's reference. Outputs are JSON arrays of real values; `input` is the audit's input (JSON,
 * base64 data) until `input_expires_at`, then null, and never stored for an edge that opted out.
 * Bounded by count and age (pruned by the cloud), deleted by edge on request.
 */
export const auditRecords = pgTable(
  'audit_records',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** 'audit' (uniform sample) or 'feedback' (labelled by the application: ground truth only). */
    source: text('source', { enum: ['audit', 'feedback'] }).notNull(),
    edgeId: text('edge_id').notNull(),
    deviceId: text('device_id').notNull(),
    requestId: text('request_id').notNull(),
    /** When the device answered (its clock) and when the cloud stored the record (ours). */
    answeredAt: timestamp('answered_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    /** Probability with which the request was audited: weight by 1/rate. */
    rate: doublePrecision('rate').notNull(),
    answerTier: text('answer_tier', { enum: ['device', 'edge', 'cloud'] }).notNull(),
    deviceModel: text('device_model').notNull(),
    deviceOutputs: jsonb('device_outputs').$type<number[]>().notNull(),
    deviceScore: doublePrecision('device_score').notNull(),
    deviceLabel: integer('device_label').notNull(),
    edgeModel: text('edge_model'),
    edgeOutputs: jsonb('edge_outputs').$type<number[]>(),
    edgeScore: doublePrecision('edge_score'),
    edgeLabel: integer('edge_label'),
    cloudModel: text('cloud_model').notNull(),
    cloudOutputs: jsonb('cloud_outputs').$type<number[]>().notNull(),
    cloudScore: doublePrecision('cloud_score').notNull(),
    /** The reference answer: the cloud's label. */
    cloudLabel: integer('cloud_label').notNull(),
    /** Ground truth from the application (`device.feedback`), when there is some: outranks the reference. */
    feedbackLabel: integer('feedback_label'),
    input: jsonb('input').$type<Record<string, unknown>>(),
    inputExpiresAt: timestamp('input_expires_at', { withTimezone: true }),
  },
  (t) => [
    index('audit_records_edge_created_idx').on(t.edgeId, t.createdAt),
    index('audit_records_created_idx').on(t.createdAt),
    check('audit_records_rate_valid', sql`${t.rate} > 0 and ${t.rate} <= 1`),
  ],
);

export const schema = { apiKeys, edges, devices, modelVersions, auditRecords };
