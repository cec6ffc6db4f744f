/** Command-line flags of the benches: `--name value`. */

export function stringFlag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

export function numberFlag(args: readonly string[], name: string, fallback: number): number {
  const text = stringFlag(args, name);
  const n = Number(text);
  if (text !== undefined && (!Number.isFinite(n) || n <= 0))
    throw new Error(`${name} needs a positive number`);
  return text === undefined ? fallback : n;
}
