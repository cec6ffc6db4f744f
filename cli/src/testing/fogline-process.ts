/**
 * A long-running `fogline` command (cloud, edge) in its own process, as a user starts it: resolves with
 * its JSON ready line, or rejects with its stderr when it exits first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FOGLINE_BIN } from './run-fogline.ts';

export interface FoglineProcess<Ready = Record<string, unknown>> {
  readonly child: ChildProcess;
  readonly ready: Ready;
  stderr(): string;
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface FoglineProcessOptions {
  env?: NodeJS.ProcessEnv;
  /** Runs the command under this umask (e.g. 0o022), through `sh -c 'umask …; exec …'`. */
  umask?: number;
}

export function startFoglineProcess<Ready = Record<string, unknown>>(
  args: readonly string[],
  options: FoglineProcessOptions = {},
): Promise<FoglineProcess<Ready>> {
  const argv = [process.execPath, FOGLINE_BIN, ...args];
  const env = { ...process.env, ...options.env };
  const child =
    options.umask === undefined
      ? spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `umask ${options.umask.toString(8).padStart(3, '0')}; exec "$@"`, 'sh', ...argv], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line) as Ready, stderr: () => stderr, exited, stop }),
    );
    void exited.then((code) =>
      reject(new Error(`fogline ${args[0]} exited ${code} before ready: ${stderr}`)),
    );
  });
}
