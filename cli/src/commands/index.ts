import type { Command } from 'commander';
import { registerModels } from './models.ts';

/** One line per command family; each file owns its flags and help text. */
export function registerCommands(program: Command): void {
  registerModels(program);
}
