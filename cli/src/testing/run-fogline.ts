/** Runs the real `fogline` bin in a fresh Node process, as a user would; for CLI tests. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const FOGLINE_BIN = fileURLToPath(new URL('../../bin/fogline.js', import.meta.url));

const run = promisify(execFile);

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Never throws on a non-zero exit: the outcome carries the code and both streams. */
export async function runFogline(...args: string[]): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [FOGLINE_BIN, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
