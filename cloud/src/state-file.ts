import { readFile } from 'node:fs/promises';
import { FoglineError } from '@fogline/shared';

/** Reads a file the running cloud left in its data dir; NOT_FOUND with `whenMissing` as the hint. */
export async function readStateFile(path: string, whenMissing: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `${whenMissing} (${path})`, { cause });
  }
}
