/**
 * What an edge remembers of its deployments across restarts (`<dataDir>/deployment.json`, 0600,
 * written atomically; docs/edge-agent.md "Deployments"): the version it serves and the one before,
 * the last report, and the ids it has finished with (active, failed, or replaced), so a retained
 * desired state delivered again after a restart is not retried. A file that does not read is
 * ignored with a warning: the edge then serves `--model` as if nothing had been deployed.
 */
import { join } from 'node:path';
import {
  type DeploymentReport,
  type ModelFile,
  type ModelRef,
  readDeploymentReport,
  readModelFile,
} from '@fogline/shared';
import { readPrivateJson, writePrivateFile } from '@fogline/shared/storage';

export const DEPLOYMENT_RECORD_FILE = 'deployment.json';
/** Finished ids remembered, newest last. */
const MAX_FINISHED_IDS = 256;

export interface DeploymentRecord {
  /** The deployed version the edge serves (none: `--model` serves). */
  readonly active?: ModelFile & { readonly id: string };
  /** What served before it (kept on disk to roll back to). */
  readonly previous?: ModelRef;
  readonly report?: DeploymentReport;
  readonly finished: readonly string[];
}

export function recordFile(dataDir: string): string {
  return join(dataDir, DEPLOYMENT_RECORD_FILE);
}

/** Reads the record; an absent file is an empty record, an unreadable one is reported through `warn`. */
export async function loadDeploymentRecord(
  dataDir: string,
  warn: (message: string) => void,
): Promise<DeploymentRecord> {
  const file = recordFile(dataDir);
  const raw = await readPrivateJson(file, warn);
  if (raw === undefined) return { finished: [] };
  const record = readRecord(raw);
  if (typeof record === 'string') {
    warn(`${file} ignored: ${record}`);
    return { finished: [] };
  }
  return record;
}

export async function saveDeploymentRecord(dataDir: string, record: DeploymentRecord): Promise<void> {
  const finished = record.finished.slice(-MAX_FINISHED_IDS);
  await writePrivateFile(recordFile(dataDir), `${JSON.stringify({ ...record, finished }, null, 2)}\n`);
}

function readRecord(raw: unknown): DeploymentRecord | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const r = raw as Record<string, unknown>;
  const finished = r.finished;
  if (!Array.isArray(finished) || !finished.every((id) => typeof id === 'string')) {
    return '"finished" must be a list of ids';
  }
  const record: { -readonly [K in keyof DeploymentRecord]: DeploymentRecord[K] } = { finished };
  if (r.active !== undefined) {
    const active = readModelFile(r.active, 'active');
    const id = (r.active as { id?: unknown }).id;
    if (!active.ok || typeof id !== 'string') return '"active" must be { id, model, version, sha256, bytes }';
    record.active = { ...active.value, id };
  }
  if (r.previous !== undefined) {
    const previous = r.previous as Partial<ModelRef> | null;
    if (typeof previous?.model !== 'string' || !Number.isSafeInteger(previous.version)) {
      return '"previous" must be { model, version }';
    }
    record.previous = { model: previous.model, version: previous.version as number };
  }
  if (r.report !== undefined) {
    const report = readDeploymentReport(r.report);
    if (!report.ok) return `"report": ${report.reason}`;
    record.report = report.value;
  }
  return record;
}
