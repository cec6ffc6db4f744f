/**
 * The shapes the dashboard reads from the cloud (cloud/src/identities, cloud/src/web/live-feed.ts,
 * cloud/src/controller/policy-admin.ts); keep them in step with the cloud's.
 */
export interface EdgeView {
  id: string;
  online: boolean;
  revokedAt: string | null;
  lastSeenAt: string | null;
  desiredModels: Record<string, number> | null;
  telemetry: {
    model?: string;
    breaker?: string;
    devices?: number;
    drift?: { model: string; alarm: boolean; psi: number | null };
    /** Its devices' reports since the edge started: read by kind, dropped over the broker's bucket. */
    reports?: { accepted: Record<string, number>; dropped?: number };
  } | null;
  reported: {
    devices?: number;
    models?: Record<string, number>;
    pendingModels?: Record<string, number>;
    lastError?: string;
  } | null;
}

export interface DeviceView {
  id: string;
  edge: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: string;
  reason?: string;
}

export interface LiveEdge {
  id: string;
  online: boolean;
  breaker: string | null;
  counts: Record<string, number>;
  latencyMs: Record<string, { p50: number | null; p99: number | null; mean: number | null }>;
  drift: { model: string; alarm: boolean; psi: number | null } | null;
  /** The devices' audit rate in effect and why: `edge`, `operator` or `drift-alarm` (cloud: live-feed.ts). */
  audit: { rate: number; source: string } | null;
  /** Field accuracy per tier over the edge's audit window (cloud: policy-admin.ts `FieldView`). */
  field: FieldView | null;
}

export interface TierFieldView {
  /** Agreement with the truth; null with no records. */
  agreement: number | null;
  /** 95 % Wilson bounds (0 and 1 with no records). */
  low: number | null;
  high: number | null;
  n: number;
  share: number | null;
}

export interface FieldView {
  records: number;
  audit_rate: number | null;
  tiers: Record<string, TierFieldView>;
}

export interface StagePolicy {
  score: string;
  threshold: number;
}

export interface LivePolicyChange {
  edge: string;
  /** Wall clock, ms. */
  at: number;
  source: string;
  action: string;
  from: { device: StagePolicy; edge: StagePolicy } | null;
  to: { device: StagePolicy; edge: StagePolicy } | null;
  why: string;
}

export interface LiveSnapshot {
  at: number;
  edges: LiveEdge[];
  cloud: {
    direct: { received: number; answered: number; errors: number };
    rateLimited: number;
    breakerOpens: number;
  };
  /** Policy changes of the last 10 minutes, oldest first. */
  policyChanges: LivePolicyChange[];
}

/** A version in the model store (cloud: routes/model-store.ts `ModelVersionView`). */
export interface StoreVersionView {
  model: string;
  version: number;
  tier: string;
  sha256: string;
  bytes: number;
  status: string;
  createdAt: string;
}

export type DeploymentEdgeState =
  | 'pending'
  | 'downloading'
  | 'verifying'
  | 'warming'
  | 'active'
  | 'failed'
  | 'rolled_back';

/** One edge of a deployment (cloud: deployments/deployment-view.ts `DeploymentEdgeView`). */
export interface DeploymentEdgeView {
  edge: string;
  stage: 'canary' | 'rest';
  sent: boolean;
  state: DeploymentEdgeState;
  receivedBytes: number | null;
  totalBytes: number | null;
  /** A message, or { kind, message }. */
  failure: string | { kind: string; message: string } | null;
  previous: { model: string; version: number } | null;
  activeSince: string | null;
  updatedAt: string;
}

/** A deployment (cloud: deployments/deployment-view.ts `DeploymentView`). */
export interface DeploymentView {
  id: string;
  model: string;
  version: number;
  sha256: string;
  bytes: number;
  edgesSelector: string[] | 'all';
  canary: number;
  canaryHealthyMs: number;
  canaryTimeoutMs: number;
  gate: { minPaired: number; maxDrop: number; shadowMs: number } | null;
  state: string;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  /** In single-deployment answers. */
  edges?: DeploymentEdgeView[];
}

/** `POST /api/deployments` (cloud: deployments/deployment-request.ts). */
export interface DeploymentRequest {
  model: string;
  version: number;
  edges: string[] | 'all';
  canary?: number;
  canaryHealthyMs?: number;
  /** Absent: the cloud's default (600000). */
  canaryTimeoutMs?: number;
  /** null: no accuracy gate; {}: the gate with its defaults. */
  gate?: Record<string, number> | null;
}

/** A routing stage: score and threshold (null: the uncalibrated one; 1.01: always escalate). */
export interface RoutingStage {
  score: string;
  threshold: number | null;
}

export interface OutcomeView {
  accuracy: number;
  share: { device: number; edge: number; cloud: number };
  escalations: number;
  expectedLatencyMs: number;
}

/** `fogline calibrate`'s report as the cloud checked it (cloud: web/report-views.ts `CalibrationView`). */
export interface CalibrationView {
  sha256: string;
  command: string;
  split: string;
  evalSplit: string;
  objective: string;
  network: { deviceEdgeRttMs: number; edgeCloudRttMs: number };
  policiesSwept: number;
  tiers: { role: string; model: string; version: number | null; accuracy: number; evalAccuracy: number }[];
  rows: {
    name: string;
    policy: { device: RoutingStage; edge: RoutingStage } | null;
    calibration: OutcomeView;
    evaluation: OutcomeView;
  }[];
  frontier: { policy: { device: RoutingStage; edge: RoutingStage }; outcome: OutcomeView }[];
  role: 'device' | 'edge' | 'cloud' | null;
  matchesConfig: boolean | null;
}

/** `fogline quantize`'s report (cloud: web/report-views.ts `QuantizationReportView`). */
export interface QuantizationReportView {
  settings: string;
  fp32Bytes: number;
  int8Bytes: number;
  sizeRatio: number;
  comparisons: {
    source: string;
    count: number;
    fp32Accuracy: number | null;
    int8Accuracy: number | null;
    accuracyDropPp: number | null;
    agreement: number;
  }[];
}

export type ReportOrError<T> = T | { error: string } | null;

/** `GET /api/models/{name}/reports` (cloud: web/model-reports.ts `ModelReportsView`). */
export interface ModelReportsView {
  model: string;
  tier: string;
  routing: RoutingStage;
  versions: {
    version: number;
    precision: { precision: 'fp32' } | { precision: 'int8'; scheme: 'static' | 'dynamic' } | null;
    precisionError?: string;
    quantization: ReportOrError<QuantizationReportView>;
  }[];
  calibration: ReportOrError<CalibrationView>;
}
