/**
 * Child processes of the benches are real .ts files run with `node --import tsx`, off the measured
 * server's event loop (sharing its cores). A one-shot child reads its plan as JSON on stdin and prints
 * its result as the last line of stdout.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Node options of a bench child: the TypeScript loader. */
export function childExecArgv(): string[] {
  return ['--import', import.meta.resolve('tsx')];
}

/**
 * Runs `script` with `plan` on stdin; resolves with the JSON it prints last; `onLine` sees each line as
 * it comes. `prefix`: a command that runs node (e.g. `taskset -c 1 nice -n 19`, bench/lib/cpu-pinning.ts).
 */
export function runChild<R>(
  script: URL,
  plan: unknown,
  onLine?: (line: string) => void,
  prefix: readonly string[] = [],
): Promise<R> {
  const argv = [...prefix, process.execPath, ...childExecArgv(), fileURLToPath(script)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (onLine) createInterface({ input: child.stdout }).on('line', onLine);
  child.stdin.end(JSON.stringify(plan));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trimEnd().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as R);
      else reject(new Error(`${fileURLToPath(script)} exited ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** The body of a one-shot child: plan from stdin, `run`, result to stdout, exit. */
export async function childMain<P, R>(run: (plan: P) => Promise<R>): Promise<void> {
  try {
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const result = await run(JSON.parse(input) as P);
    process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(0));
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
