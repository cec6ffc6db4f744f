/**
 * The control-plane store contract. Pure types: the drizzle implementation (drizzle-store.ts) runs it
 * on PGlite or PostgreSQL, and store.contract.ts checks every implementation against it.
 *
 * Conventions for every repository:
 * - `create` returns the plaintext secret exactly once; only its scrypt hash is stored.
 *   An active record with the same name/id → ALREADY_EXISTS. Creating over a *revoked* record
 *   re-enrols it with a fresh secret (replacement hardware keeps its id); the old secret stays dead.
 * - `verify` takes untrusted input and never throws for bad credentials: malformed, unknown, revoked
 *   or wrong → null. It costs one scrypt (tens of ms): cache successes on hot paths.
 * - `get` / `revoke` on a missing record → NOT_FOUND; malformed names/ids → INVALID_ARG.
 * - `revoke` is idempotent and keeps the first revocation time; records are never deleted.
 */
import type { ResolvedPolicy, RoutingDirective, Tier } from '@fogline/shared';
import type { DeploymentRepository } from './deployment-records.ts';

export type * from './deployment-records.ts';

export type ModelVersionStatus = 'staged' | 'active' | 'retired';

export interface ApiKeyRecord {
  readonly id: number;
  readonly name: string;
  /** `fgl_` + first 8 characters of the secret: safe to display, identifies the key in logs. */
  readonly keyPrefix: string;
  readonly ratePerSec: number;
  readonly burst: number;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export interface NewApiKey {
  readonly name: string;
  /** Token-bucket refill rate, requests per second (> 0). */
  readonly ratePerSec: number;
  /** Token-bucket capacity (integer ≥ 1). */
  readonly burst: number;
}

export interface ApiKeyRepository {
  /** `key` is `fgl_` + 43 base64url chars, returned only here. */
  create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }>;
  verify(key: string): Promise<ApiKeyRecord | null>;
  get(name: string): Promise<ApiKeyRecord>;
  /** All keys, revoked ones included, ordered by name. */
  list(): Promise<ApiKeyRecord[]>;
  revoke(name: string): Promise<ApiKeyRecord>;
}

export interface EdgeRecord {
  readonly id: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastSeenAt: Date | null;
}

export interface EdgeRepository {
  /** INVALID_ARG for the reserved id `cloud` (CLOUD_EDGE_ID). */
  create(id: string): Promise<{ record: EdgeRecord; token: string }>;
  verify(id: string, token: string): Promise<EdgeRecord | null>;
  get(id: string): Promise<EdgeRecord>;
  list(): Promise<EdgeRecord[]>;
  /** The ids of revoked edges, ordered: what a replica that missed revocations re-applies. */
  listRevoked(): Promise<string[]>;
  revoke(id: string): Promise<EdgeRecord>;
  /** Records contact from the edge (status message, authenticated request). Default time: the store's clock. */
  markSeen(id: string, at?: Date): Promise<EdgeRecord>;
}

export interface DeviceRecord {
  readonly id: string;
  /** The device's edge, or null for a device served by the cloud directly (no edge). */
  readonly edgeId: string | null;
  /** A second edge whose list carries the device too (a site's standby edge), or null. */
  readonly standbyEdgeId: string | null;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** What an edge needs to authenticate its devices offline (DESIGN: Where the brokers are). */
export interface DeviceCredential {
  readonly id: string;
  /** `scrypt$N$r$p$salt$hash`; check with `verifySecret` from `@fogline/shared/secrets`. */
  readonly tokenHash: string;
}

export interface DeviceRepository {
  /**
   * Enrols `id` under `edgeId`, or with no edge when `edgeId` is null (the cloud plays its edge).
   * NOT_FOUND when the edge does not exist or is revoked; INVALID_ARG for the reserved edge id `cloud`.
   * `standbyEdgeId`: a second edge that lists the device too (INVALID_ARG without an edge, or the same).
   */
  create(
    id: string,
    edgeId: string | null,
    standbyEdgeId?: string | null,
  ): Promise<{ record: DeviceRecord; token: string }>;
  /** Null also when the device's edge is revoked. An edgeless device has no edge to be revoked. */
  verify(id: string, token: string): Promise<DeviceRecord | null>;
  get(id: string): Promise<DeviceRecord>;
  list(): Promise<DeviceRecord[]>;
  /** The ids of revoked devices, ordered (devices of a revoked edge are not listed unless revoked too). */
  listRevoked(): Promise<string[]>;
  /**
   * Active devices of an active edge, those it stands by for included, ordered by id ([] for a
   * revoked edge; NOT_FOUND if unknown).
   */
  listByEdge(edgeId: string): Promise<DeviceCredential[]>;
  revoke(id: string): Promise<DeviceRecord>;
}

export interface ModelVersionRecord {
  readonly model: string;
  readonly version: number;
  readonly tier: Tier;
  /** Lower-case hex SHA-256 of model.onnx. */
  readonly sha256: string;
  readonly bytes: number;
  readonly createdAt: Date;
  readonly status: ModelVersionStatus;
}

export type ModelVersionInput = Omit<ModelVersionRecord, 'createdAt'>;

export interface ModelVersionRepository {
  /** Inserts or replaces (model, version); `createdAt` is kept from the first insert. */
  upsert(input: ModelVersionInput): Promise<ModelVersionRecord>;
  /**
   * Inserts (model, version) unless it is there already: returns the row now there and whether this
   * call inserted it (the model store's "first push wins", safe between replicas).
   */
  insertIfAbsent(input: ModelVersionInput): Promise<{ record: ModelVersionRecord; inserted: boolean }>;
  get(model: string, version: number): Promise<ModelVersionRecord>;
  /** Ordered by model, then version; only `model`'s versions when given. */
  list(model?: string): Promise<ModelVersionRecord[]>;
}

/** One tier's answer in an audit record: its model, output (real values), routing score and class. */
export interface TierAnswer {
  readonly model: string;
  readonly outputs: readonly number[];
  readonly score: number;
  readonly label: number;
}

/**
 * A field record as stored (docs/field-accuracy.md "Audits"); `cloud.label` is the reference.
 * `source` says how the request was chosen: 'audit', the uniform sample (weight 1/rate), or
 * 'feedback', labelled by the application (`device.feedback`): a biased sample, ground truth only,
 * never in uniform measures.
 */
export interface NewAuditRecord {
  readonly source: 'audit' | 'feedback';
  readonly edgeId: string;
  readonly deviceId: string;
  readonly requestId: string;
  readonly answeredAt: Date;
  /** Probability with which the request was audited, in (0, 1]. */
  readonly rate: number;
  /** The tier whose answer the device's caller got. */
  readonly answerTier: Tier;
  readonly device: TierAnswer;
  /** Null when the edge could not run its model on it. */
  readonly edge: TierAnswer | null;
  readonly cloud: TierAnswer;
  /** The audit's input (JSON, base64 data), or null: the edge opted out, or kept no inputs. */
  readonly input: Readonly<Record<string, unknown>> | null;
  readonly inputExpiresAt: Date | null;
  /** The application's true class (a feedback record's label). */
  readonly feedbackLabel?: number | null;
}

export interface AuditRecord extends NewAuditRecord {
  readonly id: number;
  readonly createdAt: Date;
  /** Ground truth from the application, when it sent some (outranks `cloud.label`). */
  readonly feedbackLabel: number | null;
}

/** Which request a feedback label is for. */
export interface FeedbackKey {
  readonly edgeId: string;
  readonly deviceId: string;
  readonly requestId: string;
}

export interface AuditQuery {
  readonly edgeId?: string;
  /** Records stored at or after this time. */
  readonly since?: Date;
  /** Records with an id above this one (incremental reading, as the controller does; paging: the last id of the previous page). */
  readonly afterId?: number;
  /** At most this many, oldest first (default and maximum 10 000). */
  readonly limit?: number;
}

export interface AuditRetention {
  /** Records kept at most (the newest); older ones are deleted. */
  readonly maxRecords: number;
  /** Records older than this are deleted. */
  readonly maxAgeMs: number;
}

export interface AuditRecordRepository {
  /** Stores records; returns how many. The store's clock sets `createdAt`. */
  insert(records: readonly NewAuditRecord[]): Promise<number>;
  /** Oldest first (by id). INVALID_ARG for a malformed edge id or limit. */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
  /**
   * Joins the application's label to the records of one request (edge, device, request id): sets
   * `feedbackLabel` on each; returns how many there were (0: no record of it yet).
   */
  addFeedback(request: FeedbackKey, label: number): Promise<number>;
  /** Deletes every record of `edgeId`; returns how many. */
  deleteByEdge(edgeId: string): Promise<number>;
  /** Applies the bounds: deletes past count and age, and drops inputs past `inputExpiresAt`. */
  prune(retention: AuditRetention): Promise<{ deleted: number; inputsDropped: number }>;
}

/** An edge's routing: the devices' stage and the edge's own. */
export interface StagePolicies {
  readonly device: ResolvedPolicy;
  readonly edge: ResolvedPolicy;
}

/** The controller's last decision for an edge (docs/field-accuracy.md "The controller, wired"). */
export interface PolicyDecisionRecord {
  readonly action: string;
  readonly why: string;
  readonly figures: Readonly<Record<string, unknown>> | null;
  readonly at: Date;
}

export interface EdgePolicyRecord {
  readonly edgeId: string;
  /** What the edge's desired state carries; null: nothing (the edge routes as configured). */
  readonly directive: RoutingDirective | null;
  /**
   * A directive is stored but no longer reads (hand-edited, or written by another version): it
   * counts as none (`directive` is null) and, unpinned, the controller may replace it.
   */
  readonly directiveUnreadable: boolean;
  /** The stored directive's `id` as stored, readable or not: what `onlyIf.directiveId` is compared with. */
  readonly storedDirectiveId: string | null;
  /** Pinned by an operator: the controller is off for this edge. */
  readonly pinned: boolean;
  /** The directive is the controller's conservative fallback, not yet re-fitted. */
  readonly conservative: boolean;
  /** The operator's audit rate for the edge's devices; null: none (the edge's own rules). */
  readonly auditRate: number | null;
  readonly lastChangeAt: Date | null;
  readonly lastDecision: PolicyDecisionRecord | null;
  readonly updatedAt: Date;
}

export type PolicyChangeSource = 'controller' | 'operator';

export interface NewPolicyChange {
  readonly source: PolicyChangeSource;
  /** conservative | refit (controller); set | pin | unpin | audit-rate (operator). */
  readonly action: string;
  readonly from: StagePolicies | null;
  readonly to: StagePolicies | null;
  readonly why: string;
  /** The window's figures the decision stood on (controller), or null. */
  readonly figures: Readonly<Record<string, unknown>> | null;
}

export interface PolicyChange extends NewPolicyChange {
  readonly id: number;
  readonly edgeId: string;
  readonly at: Date;
}

/** What a change sets on the edge's row besides the log entry; absent fields stay as they are. */
export interface EdgePolicyUpdate {
  readonly directive?: RoutingDirective;
  readonly pinned?: boolean;
  readonly conservative?: boolean;
  /** null clears the operator's audit rate. */
  readonly auditRate?: number | null;
}

/** What the row must still be for a conditional change: not pinned, and the directive id read (null: none). */
export interface EdgePolicyCondition {
  readonly unpinned: true;
  readonly directiveId: string | null;
}

export interface EdgePolicyRepository {
  /** Null for an edge with no row yet. INVALID_ARG for a malformed id. */
  get(edgeId: string): Promise<EdgePolicyRecord | null>;
  /** Every row, by edge id. */
  list(): Promise<EdgePolicyRecord[]>;
  /**
   * Appends `change` to the log and applies `update` to the edge's row, in one transaction. With
   * `onlyIf` (the controller's write), only while the row is still as its caller read it, checked in
   * the one statement that writes it: else nothing is written and the answer is null.
   */
  change(
    edgeId: string,
    change: NewPolicyChange,
    update: EdgePolicyUpdate,
    onlyIf?: EdgePolicyCondition,
  ): Promise<PolicyChange | null>;
  /** Keeps the controller's last decision on the edge's row (the store's clock sets its time). */
  recordDecision(edgeId: string, decision: Omit<PolicyDecisionRecord, 'at'>): Promise<void>;
  /** The edge's changes, newest first, at most `limit` (default and maximum 1 000). */
  changes(edgeId: string, limit?: number): Promise<PolicyChange[]>;
}

export interface LeaseRepository {
  /**
   * Takes or renews the lease `name` for `holder` until the database's now + ttlMs; true when `holder` holds it
   * afterwards. Another holder's lease is taken only once it has expired.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
}

export interface Store {
  readonly apiKeys: ApiKeyRepository;
  readonly edges: EdgeRepository;
  readonly devices: DeviceRepository;
  readonly modelVersions: ModelVersionRepository;
  readonly auditRecords: AuditRecordRepository;
  readonly edgePolicies: EdgePolicyRepository;
  readonly leases: LeaseRepository;
  /** Model rollouts (docs/operations.md "Rollout"). */
  readonly deployments: DeploymentRepository;
  /** Which engine backs the store (for /v2 metadata and logs). */
  readonly driver: 'pglite' | 'postgres';
  close(): Promise<void>;
}
