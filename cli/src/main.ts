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
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`fogline: ${message}\n`);
    process.exit(1);
  }
}
