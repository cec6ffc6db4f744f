/**
 * `--help` on every command of the real `fogline` program, in process: commander's exitOverride turns
 * the help exit into a CommanderError and configureOutput captures what a user would see. A preAction
 * hook refuses to start any command, so a --help that fell through to its action fails the test
 * instead of starting a server.
 */
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from './main.ts';

interface CommandEntry {
  /** Words after `fogline`, e.g. ['edges', 'add']; [] for the program itself. */
  readonly path: readonly string[];
  readonly command: Command;
}

function walk(command: Command, path: readonly string[] = []): CommandEntry[] {
  return [{ path, command }, ...command.commands.flatMap((sub) => walk(sub, [...path, sub.name()]))];
}

interface HelpOutcome {
  exitCode: number | undefined;
  code: string | undefined;
  stdout: string;
  stderr: string;
}

async function helpOf(path: readonly string[]): Promise<HelpOutcome> {
  const program = createProgram();
  let stdout = '';
  let stderr = '';
  for (const { command } of walk(program)) {
    command.exitOverride().configureOutput({
      writeOut: (s) => {
        stdout += s;
      },
      writeErr: (s) => {
        stderr += s;
      },
    });
  }
  program.hook('preAction', (_root, action) => {
    throw new Error(`--help started \`${action.name()}\``);
  });
  try {
    await program.parseAsync([...path, '--help'], { from: 'user' });
    return { exitCode: undefined, code: undefined, stdout, stderr };
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return { exitCode: err.exitCode, code: err.code, stdout, stderr };
  }
}

/** Help text wraps to the terminal width; compare with runs of whitespace collapsed. */
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

const commands = walk(createProgram());
const named = (path: readonly string[]) => ['fogline', ...path].join(' ');

describe('fogline --help on every command', () => {
  it('walks the whole program', () => {
    const topLevel = commands.filter((c) => c.path.length === 1).map((c) => c.path[0]);
    expect(topLevel).toEqual(
      expect.arrayContaining([
        'cloud',
        'edge',
        'edges',
        'devices',
        'keys',
        'models',
        'quantize',
        'calibrate',
        'up',
      ]),
    );
    expect(commands.map((c) => named(c.path))).toEqual(
      expect.arrayContaining([
        'fogline edges add',
        'fogline devices revoke',
        'fogline keys create',
        'fogline models eval',
      ]),
    );
  });

  it.each(commands.map((c) => [named(c.path), c] as const))('%s --help', async (_name, { path, command }) => {
    const help = await helpOf(path);
    expect(help).toMatchObject({ exitCode: 0, code: 'commander.helpDisplayed', stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^Usage: ${named(path)} `));
    const text = flat(help.stdout);
    expect(text).toContain(flat(command.description()));
    for (const option of command.options) {
      expect(text).toContain(`${option.flags} ${flat(option.description)}`);
    }
    for (const argument of command.registeredArguments) {
      expect(text).toMatch(
        new RegExp(`Arguments:.* ${argument.name()} +${literal(flat(argument.description))}`),
      );
    }
    for (const sub of command.commands) {
      expect(text, `lists ${sub.name()}`).toMatch(new RegExp(`Commands:.* ${sub.name()}\\b`));
    }
  });
});

/** `text` as a literal inside a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('help text of every command', () => {
  it.each(commands.map((c) => [named(c.path), c] as const))(
    '%s describes itself, its arguments and its options',
    (_name, { command }) => {
      expect(command.description().trim()).not.toBe('');
      for (const argument of command.registeredArguments) {
        expect(argument.description.trim(), argument.name()).not.toBe('');
      }
      for (const option of command.options) {
        expect(option.description.trim(), option.flags).not.toBe('');
      }
    },
  );
});

describe('what an option says about its default', () => {
  it.each(commands.map((c) => [named(c.path), c] as const))(
    '%s: each option names its default once',
    (_name, { command }) => {
      const help = command.createHelp();
      for (const option of command.options) {
        const text = help.optionDescription(option);
        expect(text.match(/\(default\b/g)?.length ?? 0, `${option.flags}: ${text}`).toBeLessThanOrEqual(1);
      }
    },
  );

  it.each([
    ['cloud', 'HTTPS, MQTTS and WSS'],
    ['edge', 'the local broker as MQTTS/WSS'],
  ])(
    'fogline %s --tls-cert: what it serves, that SIGHUP re-reads it, its environment default',
    (name, listeners) => {
      const command = createProgram().commands.find((c) => c.name() === name)!;
      const option = command.options.find((o) => o.long === '--tls-cert')!;
      expect(command.createHelp().optionDescription(option)).toBe(
        `certificate chain (PEM) to serve ${listeners}; SIGHUP re-reads it and the key (default $FOGLINE_TLS_CERT)`,
      );
    },
  );
});

describe('help that reads the same on every machine', () => {
  it.each(commands.map((c) => [named(c.path), c] as const))(
    '%s names no path of this checkout',
    (_name, { command }) => {
      const help = command.createHelp();
      const root = fileURLToPath(new URL('../..', import.meta.url));
      for (const option of command.options) {
        expect(help.optionDescription(option), option.flags).not.toContain(root);
      }
    },
  );
});
