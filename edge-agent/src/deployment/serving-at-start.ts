/**
 * Which model an edge serves when it starts (docs/edge-agent.md "Deployments"): the version its last
 * successful deployment made active, from its data dir, when that file is still there with its
 * sha256; otherwise (nothing deployed yet, or the file is gone or changed) the `--model` of the
 * command line. The log says which, and why.
 */
import { join } from 'node:path';
import { fromUnknown } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import type { AgentLogger } from '../agent-options.ts';
import { deployedEntry, holds, MODEL_FILE, versionDir } from './deployed-files.ts';
import type { DeploymentRecord } from './deployment-record.ts';

/** The deployed entry to serve, or undefined to serve `--model`. */
export async function deployedAtStart(
  dataDir: string,
  record: DeploymentRecord,
  modelFlag: string,
  logger: AgentLogger,
): Promise<ModelEntry | undefined> {
  const active = record.active;
  if (!active) return undefined;
  const label = `${active.model}:${active.version}`;
  const dir = versionDir(dataDir, active);
  try {
    if (!(await holds(join(dir, MODEL_FILE), active.sha256))) {
      throw new Error(`${join(dir, MODEL_FILE)} is missing or does not match its sha256`);
    }
    const entry = await deployedEntry(dataDir, active);
    logger.info(
      `serving ${label}, deployed by ${active.id}, from ${dir}: a deployment overrides --model ${modelFlag}`,
    );
    return entry;
  } catch (err) {
    logger.warn(
      `deployed ${label} (${active.id}) cannot be served: ${fromUnknown(err).message}; serving --model ${modelFlag}`,
    );
    return undefined;
  }
}
