/**
 * The device list on disk (`<dataDir>/desired-state.json`), so an edge that restarts while the cloud
 * is unreachable still authenticates its devices. Writes are atomic: a temp file in the same directory,
 * fsynced, then renamed over the old one, so a crash leaves either the old or the new list, never half.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { mkdirPrivate } from '@fogline/shared/storage';
import { type DesiredState, parseDesiredState } from './desired-state.ts';

export const DESIRED_STATE_FILE = 'desired-state.json';

export class DeviceListCache {
  readonly file: string;

  constructor(private readonly dataDir: string) {
    this.file = join(dataDir, DESIRED_STATE_FILE);
  }

  /** The cached state, or undefined when there is none yet. A corrupt file is an error, not an empty list. */
  async load(): Promise<DesiredState | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FoglineError('UNAVAILABLE', `cannot read the device list cache ${this.file}`, { cause: err });
    }
    try {
      return parseDesiredState(JSON.parse(text));
    } catch (cause) {
      throw new FoglineError('INTERNAL', `device list cache ${this.file} is corrupt; delete it to resync`, {
        cause,
      });
    }
  }

  async save(state: DesiredState): Promise<void> {
    await mkdirPrivate(this.dataDir);
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(state)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new FoglineError('UNAVAILABLE', `cannot write the device list cache ${this.file}`, {
        cause: err,
      });
    }
  }
}
