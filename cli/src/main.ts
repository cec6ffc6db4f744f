import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.ts';

/** Builds the `fogline` program; every command lives in its own file under commands/. */
export function createProgram(): Command {
  const program = new Command('fogline')
    .description('fogline: end–edge–cloud inference (device → edge → cloud)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Commander prints and exits on its own parse errors; one that reaches here was thrown by a
    // command's action (e.g. an InvalidArgumentError after a lookup) and has not been shown yet.
    if (err instanceof CommanderError) {
      process.stderr.write(`fogline: ${err.message.replace(/^error: /, '')}\n`);
      process.exit(err.exitCode);
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`fogline: ${message}\n`);
    process.exit(1);
  }
}
