/**
 * A relative path that came from outside (an archive entry, a file named in an upload) joined to a
 * directory of fogline must stay under it (docs/security.md "Paths from outside"): never absolute
 * (`/x`, `C:\x`, `\\host\x`), never with a `..` part, never with a NUL byte. The check is on the
 * text, so it holds for a directory that does not exist yet. It cannot see symbolic links: a caller
 * that writes under `base` must know that nothing in `base` is a link (e.g. `base` is a fresh
 * directory that only files and directories are written to).
 */
import { isAbsolute } from 'node:path';

/** Why `path` would leave the directory it is joined to; undefined when it stays under it. */
export function pathEscapeOf(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.includes('\0')) return 'holds a NUL byte';
  if (isAbsolute(path) || /^[\\/]|^[A-Za-z]:/.test(path)) return 'is absolute';
  if (path.split(/[\\/]/).includes('..')) return "has a '..' part";
  return undefined;
}
