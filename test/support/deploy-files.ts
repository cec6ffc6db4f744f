/**
 * Test support for the static checks of deploy/ (no container engine or cluster runs here): where the
 * files are, YAML documents read from them, and the flags `fogline <command> --help` lists, taken
 * from the real CLI in a child process, so a manifest that names a flag the CLI lacks fails.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { runFogline } from '../../cli/src/testing/run-fogline.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY_DIR = `${REPO_ROOT}deploy/`;

/** Every YAML document of a file (empty ones dropped); a syntax error or a warning fails. */
export function readYamlDocuments(path: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { strict: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Record<string, unknown>[] = [];
  for (const doc of list) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null;
    if (value !== null) out.push(value);
  }
  return out;
}

/** The long flags `fogline <command> --help` lists. */
export async function cliFlags(command: string): Promise<Set<string>> {
  const outcome = await runFogline(command, '--help');
  if (outcome.code !== 0)
    throw new Error(`fogline ${command} --help: exit ${outcome.code}: ${outcome.stderr}`);
  return new Set([...outcome.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!));
}

/** The `--flags` in a command line or argument list. */
export function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]);
}
