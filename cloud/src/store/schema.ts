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
  boolean,
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
 * to none (`edge_id` null): such a device connects to the cloud broker, which plays its edge. A
 * device of an edge may have a standby edge (a site's second edge, docs/scale-out.md "Failover"):
 * both edges' device lists carry it, so it can fail over from one to the other.
 */
export const devices = pgTable(
  'devices',
  {
    id: text('id').primaryKey(),
    edgeId: text('edge_id').references(() => edges.id),
    standbyEdgeId: text('standby_edge_id').references(() => edges.id),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: revokedAt(),
  },
  (t) => [
    index('devices_edge_id_idx').on(t.edgeId),
    index('devices_standby_edge_id_idx').on(t.standbyEdgeId),
  ],
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

/**
 * Each edge's routing as the cloud wants it (docs/field-accuracy.md "The controller, wired"): the
 * directive its desired state carries (`directive`, the shared RoutingDirective JSON), whether an
 * operator pinned it, whether it is the controller's conservative fallback, the operator's audit rate
 * for its devices (`audit_rate`, null: none; docs/field-accuracy.md "The audit rate"), the controller's last
 * decision (action, why, figures, time). One row per edge that has any of these.
 */
export const edgePolicies = pgTable(
  'edge_policies',
  {
    edgeId: text('edge_id').primaryKey(),
    directive: jsonb('directive').$type<Record<string, unknown>>(),
    pinned: boolean('pinned').notNull().default(false),
    conservative: boolean('conservative').notNull().default(false),
    auditRate: doublePrecision('audit_rate'),
    lastChangeAt: timestamp('last_change_at', { withTimezone: true }),
    lastDecision: jsonb('last_decision').$type<Record<string, unknown>>(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'edge_policies_audit_rate_valid',
      sql`${t.auditRate} is null or (${t.auditRate} >= 0 and ${t.auditRate} <= 1)`,
    ),
  ],
);

/** Every change of an edge's routing: when, old → new, action, why, the window's figures, by whom. */
export const policyChanges = pgTable(
  'policy_changes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    edgeId: text('edge_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    source: text('source', { enum: ['controller', 'operator'] }).notNull(),
    action: text('action').notNull(),
    fromPolicy: jsonb('from_policy').$type<Record<string, unknown>>(),
    toPolicy: jsonb('to_policy').$type<Record<string, unknown>>(),
    why: text('why').notNull(),
    figures: jsonb('figures').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('policy_changes_edge_idx').on(t.edgeId, t.id),
    check('policy_changes_source_valid', sql`${t.source} in ('controller', 'operator')`),
  ],
);

/** Leases: one holder at a time per name (the controller runs on one cloud replica), until `expires_at`. */
export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/**
 * Model rollouts (docs/operations.md "Rollout"): one row per `fogline deploy`, its model version and
 * file, the edges it was asked for (`["e1","e2"]` or `"all"`), the canary share, healthy time and timeout, the
 * accuracy gate (`{ shadowMs, minPaired, maxDrop }`) and device model, if any, and where it stands.
 */
export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    model: text('model').notNull(),
    version: integer('version').notNull(),
    sha256: text('sha256').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    edgesSelector: jsonb('edges_selector').$type<string[] | 'all'>().notNull(),
    canaryShare: doublePrecision('canary_share').notNull(),
    canaryHealthyMs: bigint('canary_healthy_ms', { mode: 'number' }).notNull(),
    /** How long the canary edges have to report `active` (rows from before 0007: the default). */
    canaryTimeoutMs: bigint('canary_timeout_ms', { mode: 'number' }).notNull().default(600_000),
    gate: jsonb('gate').$type<Record<string, unknown>>(),
    device: jsonb('device').$type<Record<string, unknown>>(),
    state: text('state', {
      enum: ['staged', 'canary', 'rolling', 'done', 'failed', 'rolled_back'],
    }).notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('deployments_model_idx').on(t.model, t.createdAt),
    check(
      'deployments_state_valid',
      sql`${t.state} in ('staged', 'canary', 'rolling', 'done', 'failed', 'rolled_back')`,
    ),
    check('deployments_canary_share_valid', sql`${t.canaryShare} > 0 and ${t.canaryShare} <= 1`),
  ],
);

/**
 * Each edge of a deployment: its stage (canary first, the rest once the canary is healthy), its
 * state as it reports it (`pending` until it reports; `superseded` once a newer deployment took the
 * edge), download progress, failure, the version it served before, the accuracy gate's counts.
 */
export const deploymentEdges = pgTable(
  'deployment_edges',
  {
    deploymentId: text('deployment_id')
      .notNull()
      .references(() => deployments.id),
    edgeId: text('edge_id').notNull(),
    stage: text('stage', { enum: ['canary', 'rest'] }).notNull(),
    state: text('state').notNull(),
    receivedBytes: bigint('received_bytes', { mode: 'number' }),
    totalBytes: bigint('total_bytes', { mode: 'number' }),
    failure: text('failure'),
    previous: jsonb('previous').$type<Record<string, unknown>>(),
    gate: jsonb('gate').$type<Record<string, unknown>>(),
    /** Since when the edge has reported `active` without a break (the canary's healthy time). */
    activeSince: timestamp('active_since', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.deploymentId, t.edgeId] }),
    index('deployment_edges_edge_idx').on(t.edgeId),
    check('deployment_edges_stage_valid', sql`${t.stage} in ('canary', 'rest')`),
  ],
);

export const schema = {
  apiKeys,
  edges,
  devices,
  modelVersions,
  auditRecords,
  edgePolicies,
  policyChanges,
  leases,
  deployments,
  deploymentEdges,
};
