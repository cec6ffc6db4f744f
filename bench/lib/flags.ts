/** Command-line flags of the benches: `--name value`. */

export function stringFlag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

export function numberFlag(args: readonly string[], name: string): number | undefined;
export function numberFlag(args: readonly string[], name: string, fallback: number): number;
export function numberFlag(args: readonly string[], name: string, fallback?: number): number | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${text}`);
  return n;
}
