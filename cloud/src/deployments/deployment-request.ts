/**
 * What an operator asks for when deploying (docs/operations.md "Rollout"), read at the boundary
 * (`POST /api/deployments`, and `fogline deploy` through it):
 *
 *   { "model": "digits-mid", "version": 3, "edges": ["e1", "e2"] | "all",
 *     "canary": 0.1, "canaryHealthyMs": 60000, "canaryTimeoutMs": 600000,
 *     "gate": { "minPaired": 40, "maxDrop": 0.05, "shadowMs": 600000 } | null,
 *     "device": { "model": "digits-tiny", "version": 2 } }
 *
 * `canary` is the share of the edges that go first, in (0, 1] (at least one edge); `gate` absent or
 * null: no accuracy gate; `{}`: the gate with its defaults. `canaryTimeoutMs`: how long the canary
 * edges have to report `active` (deployment-service.ts fails the deployment after it).
 */
import { type DeploymentGate, FoglineError, type ModelRef } from '@fogline/shared';
import type { Store } from '../store/index.ts';
import { isValidName } from '../store/validation.ts';

export const DEPLOYMENT_DEFAULTS = Object.freeze({
  canary: 0.1,
  canaryHealthyMs: 60_000,
  canaryTimeoutMs: 600_000,
  gate: Object.freeze({ minPaired: 40, maxDrop: 0.05, shadowMs: 600_000 }) satisfies DeploymentGate,
});

/** Longest healthy time, canary timeout and shadow time accepted (a week). */
const MAX_MS = 7 * 86_400_000;
/** Most edges one deployment names. */
export const MAX_DEPLOYMENT_EDGES = 10_000;

export interface DeploymentRequest extends ModelRef {
  readonly edges: readonly string[] | 'all';
  readonly canary: number;
  readonly canaryHealthyMs: number;
  readonly canaryTimeoutMs: number;
  readonly gate: DeploymentGate | null;
  readonly device: ModelRef | null;
}

const invalid = (message: string) => new FoglineError('INVALID_ARG', message);
const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const isMs = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_MS;

function readRef(raw: unknown, at: string): ModelRef {
  const r = raw as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    throw invalid(`${at} must be { model, version }`);
  if (!isValidName(r.model)) throw invalid(`${at}.model must be a model name (1-64 chars of [A-Za-z0-9._-])`);
  if (!isVersion(r.version)) throw invalid(`${at}.version must be an integer >= 1`);
  return { model: r.model, version: r.version };
}

function readEdges(raw: unknown): readonly string[] | 'all' {
  if (raw === 'all') return 'all';
  if (!Array.isArray(raw) || raw.length === 0)
    throw invalid(`edges must be "all" or a non-empty list of edge ids`);
  if (raw.length > MAX_DEPLOYMENT_EDGES) throw invalid(`edges: at most ${MAX_DEPLOYMENT_EDGES}`);
  const bad = raw.find((e) => !isValidName(e));
  if (bad !== undefined) throw invalid(`edges: '${String(bad).slice(0, 70)}' is not an edge id`);
  return [...new Set(raw as string[])];
}

function readGate(raw: unknown): DeploymentGate | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('gate must be an object or null');
  const g = { ...DEPLOYMENT_DEFAULTS.gate, ...(raw as Record<string, unknown>) };
  if (!isVersion(g.minPaired) || g.minPaired > 1_000_000) {
    throw invalid('gate.minPaired must be an integer in [1, 1000000]');
  }
  if (typeof g.maxDrop !== 'number' || !(g.maxDrop >= 0 && g.maxDrop <= 1)) {
    throw invalid('gate.maxDrop must be a number in [0, 1]');
  }
  if (!isMs(g.shadowMs)) throw invalid(`gate.shadowMs must be an integer in [0, ${MAX_MS}]`);
  return Object.freeze({ minPaired: g.minPaired, maxDrop: g.maxDrop, shadowMs: g.shadowMs });
}

/** Validates an untrusted deployment request; INVALID_ARG naming the field. */
export function readDeploymentRequest(body: Record<string, unknown>): DeploymentRequest {
  const ref = readRef(body, 'deployment');
  const canary = body.canary ?? DEPLOYMENT_DEFAULTS.canary;
  if (typeof canary !== 'number' || !(canary > 0 && canary <= 1)) {
    throw invalid('canary must be a share in (0, 1] (10 % is 0.1)');
  }
  const canaryHealthyMs = body.canaryHealthyMs ?? DEPLOYMENT_DEFAULTS.canaryHealthyMs;
  if (!isMs(canaryHealthyMs)) throw invalid(`canaryHealthyMs must be an integer in [0, ${MAX_MS}]`);
  const canaryTimeoutMs = body.canaryTimeoutMs ?? DEPLOYMENT_DEFAULTS.canaryTimeoutMs;
  if (!isMs(canaryTimeoutMs) || canaryTimeoutMs === 0) {
    throw invalid(`canaryTimeoutMs must be an integer in [1, ${MAX_MS}]`);
  }
  return {
    ...ref,
    edges: readEdges(body.edges),
    canary,
    canaryHealthyMs,
    canaryTimeoutMs,
    gate: readGate(body.gate),
    device: body.device === undefined || body.device === null ? null : readRef(body.device, 'device'),
  };
}

/** How many of `edges` edges go first: the share, rounded, at least one. */
export function canaryCount(edges: number, share: number): number {
  return Math.min(edges, Math.max(1, Math.round(edges * share)));
}

/** The store's file of `ref`; INVALID_ARG when it is a version of another tier than `tier`. */
export async function storedFile(
  store: Pick<Store, 'modelVersions'>,
  ref: ModelRef,
  tier: 'edge' | 'device',
) {
  const v = await store.modelVersions.get(ref.model, ref.version);
  if (v.tier !== tier) {
    throw new FoglineError(
      'INVALID_ARG',
      `${ref.model}@${ref.version} is a ${v.tier}-tier model; this needs a ${tier}-tier one`,
    );
  }
  return { model: v.model, version: v.version, sha256: v.sha256, bytes: v.bytes };
}
