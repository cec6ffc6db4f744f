/**
 * The `models` part of an edge's desired state (docs/edge-agent.md "Desired state"): the version the
 * cloud serves of each edge-tier model (config `tier: "edge"`), restricted to the models the edge
 * reports serving once it has reported, so that an edge running digits-mid is not told it lacks
 * digits-mid-int8. While the edge is in a deployment (deployments/), the deployed model's entry
 * names the deployed version instead of the cloud's own. The edge reports a version mismatch as
 * `pendingModels`.
 */
import type { DeploymentDirective, DeploymentReport, ModelConfig } from '@fogline/shared';
import type { ModelServer } from '../serving/model-server.ts';

export function edgeModelVersions(models: Pick<ModelServer, 'instances'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const instance of models.instances()) {
    if (instance.config.tier === 'edge') out[instance.name] = instance.version;
  }
  return out;
}

/** The configs of the edge-tier models served, by `name:version` (the cloud's audit drift checks). */
export function edgeModelConfigs(models: Pick<ModelServer, 'instances'>): Map<string, ModelConfig> {
  const edge = models.instances().filter((m) => m.config.tier === 'edge');
  return new Map(edge.map((m) => [`${m.name}:${m.version}`, m.config]));
}

/** `desired` restricted to the models in `served` (all of `desired` while `served` is unknown). */
export function desiredFor(
  desired: Record<string, number>,
  served: Record<string, number> | undefined,
): Record<string, number> {
  if (served === undefined) return desired;
  return Object.fromEntries(Object.entries(desired).filter(([name]) => name in served));
}

export function sameVersions(a: Record<string, number> | undefined, b: Record<string, number>): boolean {
  if (a === undefined) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * `models` with the deployed model's entry following `deployment` (the block the edge's desired
 * state carries): the edge is to serve that version, not the one the cloud serves, so a deployed
 * edge reports no `pendingModels`. Unless the edge reports that deployment failed: it keeps serving
 * what it had (the report's `previous`), and that is what it is told.
 */
export function followDeployment(
  models: Record<string, number>,
  deployment: DeploymentDirective | undefined,
  reported: DeploymentReport | undefined,
): Record<string, number> {
  if (!deployment) return models;
  if (reported?.id === deployment.id && reported.state === 'failed') {
    const kept = reported.previous;
    return kept ? { ...models, [kept.model]: kept.version } : models;
  }
  return { ...models, [deployment.model]: deployment.version };
}
