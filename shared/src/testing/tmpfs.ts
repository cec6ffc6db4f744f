/**
 * A real small disk for tests of what a full disk does (ENOSPC, EDQUOT): a tmpfs mounted on a
 * folder. Mounting needs root; where it is not permitted the test skips, saying why.
 */
import { execFileSync } from 'node:child_process';

/** Mounts a tmpfs with `options` (e.g. `size=64k,mode=0700`) on `dir`: undefined, or why it cannot. */
export function mountTmpfs(dir: string, options: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Unmounts what mountTmpfs mounted on `dir` (lazily: a file still open does not stop it). */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', ['-l', dir]);
}
