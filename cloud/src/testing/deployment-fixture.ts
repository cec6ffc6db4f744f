/**
 * Test support for rollouts (docs/operations.md "Rollout"): push a copy of a committed model into a
 * running cloud's model store as name@version, deploy it, and read what an edge is told and what it
 * may report. For the cloud's own tests and the end-to-end ones with real edges.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentReport } from '@fogline/shared';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { CloudAdminClient, DeployBody, DeploymentView, ModelVersionView } from '../admin-client.ts';

/** Pushes the committed model `from` (version 1 of models/) into the store as `name`@`version`. */
export async function pushCommittedModel(
  admin: CloudAdminClient,
  from: string,
  name: string,
  version: number,
): Promise<ModelVersionView> {
  const config = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, from, 'config.json'), 'utf8'));
  const pushed = await admin.pushModel({
    name,
    version,
    file: join(DEFAULT_MODELS_DIR, from, '1', 'model.onnx'),
    config: { ...config, name },
  });
  return pushed.version;
}

/** Pushes `from` as `model`@`version` (unless it is there) and deploys it with `body`'s settings. */
export async function deployCommittedModel(
  admin: CloudAdminClient,
  deploy: Omit<DeployBody, 'version'> & { version: number; from: string },
): Promise<DeploymentView> {
  const { from, ...body } = deploy;
  const stored = await admin.modelVersions(body.model);
  if (!stored.some((v) => v.version === body.version)) {
    await pushCommittedModel(admin, from, body.model, body.version);
  }
  return admin.deploy(body);
}

/** The reported state an edge sends while deploying (the `deployment` field of model-deployment.ts). */
export function reportedDeployment(report: DeploymentReport, models: Record<string, number> = {}): string {
  return JSON.stringify({ models, deployment: report });
}
