/**
 * The store contract for model rollouts (docs/operations.md "Rollout"), beside store.ts: a deployment
 * and its edges as stored. Pure types; deployments.ts implements them, deployments.contract.ts checks.
 */
import type { DeploymentGate, DeploymentState, ModelFile, ModelRef } from '@fogline/shared';

export const DEPLOYMENT_STATUSES = ['staged', 'canary', 'rolling', 'done', 'failed', 'rolled_back'] as const;
/** Where a deployment stands: canary edges first, then the rest; ends done, failed or rolled back. */
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** An edge of a deployment: as it reports (model-deployment.ts), `pending` before, `superseded` after a newer one. */
export type DeploymentEdgeState = DeploymentState | 'pending' | 'superseded';

export type DeploymentStage = 'canary' | 'rest';

/** The accuracy gate's paired counts on one edge (new = the deployed model, old = the one before, in shadow). */
export interface GateCounts {
  readonly paired: number;
  readonly newCorrect: number;
  readonly oldCorrect: number;
  /** Discordant pairs: only the new model agreed with the reference, or only the old one. */
  readonly newOnlyCorrect: number;
  readonly oldOnlyCorrect: number;
}

export interface NewDeployment {
  readonly id: string;
  readonly file: ModelFile;
  /** What the operator asked for: a list of edge ids, or every registered edge. */
  readonly edgesSelector: readonly string[] | 'all';
  /** Share of the edges that go first, in (0, 1]. */
  readonly canaryShare: number;
  readonly canaryHealthyMs: number;
  /** How long the canary edges have to report `active`, from the deployment's start. */
  readonly canaryTimeoutMs: number;
  readonly gate: DeploymentGate | null;
  readonly device: ModelFile | null;
  readonly state: DeploymentStatus;
  readonly reason: string | null;
  /** The edges it covers, each with its stage; any other deployment's row of these edges is superseded. */
  readonly edges: readonly { readonly edgeId: string; readonly stage: DeploymentStage }[];
}

export interface DeploymentRecord {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly bytes: number;
  readonly edgesSelector: readonly string[] | 'all';
  readonly canaryShare: number;
  readonly canaryHealthyMs: number;
  readonly canaryTimeoutMs: number;
  readonly gate: DeploymentGate | null;
  readonly device: ModelFile | null;
  readonly state: DeploymentStatus;
  readonly reason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface DeploymentEdgeRecord {
  readonly deploymentId: string;
  readonly edgeId: string;
  readonly stage: DeploymentStage;
  readonly state: DeploymentEdgeState;
  readonly receivedBytes: number | null;
  readonly totalBytes: number | null;
  /** `kind: message` from the edge's report, or why the cloud gave up on it. */
  readonly failure: string | null;
  readonly previous: ModelRef | null;
  readonly gate: GateCounts | null;
  /** Since when the edge has reported `active` without a break (null when not active). */
  readonly activeSince: Date | null;
  readonly updatedAt: Date;
}

/** What an update sets on an edge's row; absent fields stay as they are. */
export interface DeploymentEdgeUpdate {
  readonly state?: DeploymentEdgeState;
  readonly receivedBytes?: number | null;
  readonly totalBytes?: number | null;
  readonly failure?: string | null;
  readonly previous?: ModelRef | null;
  readonly gate?: GateCounts | null;
  readonly activeSince?: Date | null;
}

export interface DeploymentRepository {
  /**
   * Inserts the deployment and its edges in one transaction; the edges' rows in other deployments
   * become `superseded` (one deployment per edge). ALREADY_EXISTS for a taken id.
   */
  create(input: NewDeployment): Promise<DeploymentRecord>;
  /** NOT_FOUND when there is none. */
  get(id: string): Promise<DeploymentRecord>;
  /** Newest first; only `model`'s when given; at most `limit` (default 100). */
  list(query?: { readonly model?: string; readonly limit?: number }): Promise<DeploymentRecord[]>;
  /** Deployments in `canary` or `rolling` (the ones the cloud advances). */
  listRunning(): Promise<DeploymentRecord[]>;
  /** Its edges, canary first, then by id. */
  edges(id: string): Promise<DeploymentEdgeRecord[]>;
  setState(id: string, state: DeploymentStatus, reason: string | null): Promise<DeploymentRecord>;
  updateEdge(id: string, edgeId: string, update: DeploymentEdgeUpdate): Promise<DeploymentEdgeRecord>;
  /** The edge's row in its newest deployment that is not superseded, with that deployment; null if none. */
  currentFor(edgeId: string): Promise<{ deployment: DeploymentRecord; edge: DeploymentEdgeRecord } | null>;
}
