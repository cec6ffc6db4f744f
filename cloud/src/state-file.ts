/**
 * The files a running cloud leaves in its data dir for the CLI: `cloud.json` says where it listens,
 * so that `fogline keys` and the other admin commands find it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { writePrivateFile } from '@fogline/shared/storage';

export const CLOUD_STATE_FILE = 'cloud.json';

/** What `<dataDir>/cloud.json` holds, so that `fogline keys` finds the running server. */
export interface CloudState {
  url: string;
  httpPort: number;
  mqttPort: number | null;
  pid: number;
}

/** Writes `cloud.json` (0600) once the cloud serves. */
export function writeCloudState(dataDir: string, state: CloudState): Promise<void> {
  return writePrivateFile(join(dataDir, CLOUD_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes `cloud.json` when the cloud stops. */
export function removeCloudState(dataDir: string): Promise<void> {
  return rm(join(dataDir, CLOUD_STATE_FILE), { force: true });
}

/** Reads a file the running cloud left in its data dir; NOT_FOUND with `whenMissing` as the hint. */
export async function readStateFile(path: string, whenMissing: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `${whenMissing} (${path})`, { cause });
  }
}
