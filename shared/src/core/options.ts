/**
 * Option rules, written once: every option resolver (cloud, edge agent, device, broker) checks its
 * fields with these, and the CLI's flag parsers defer to the same rules, so a rule and its message
 * cannot drift apart. A rule says what a value must be (`must`, for the message) and whether one is
 * (`test`); `check` applies it and throws INVALID_ARG `<what>: <field> must be <must>, got <value>`.
 */
import { FoglineError } from './errors.ts';

export interface Rule<T> {
  /** Completes "<field> must be …". */
  readonly must: string;
  test(value: unknown): value is T;
}

/** A rule of one's own, for a constraint only one resolver has. */
export function rule<T>(must: string, test: (value: unknown) => boolean): Rule<T> {
  return { must, test: test as (value: unknown) => value is T };
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** An integer in min..max. */
export function intIn(min: number, max: number): Rule<number> {
  return rule(
    `an integer in ${min}..${max}`,
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
  );
}

/** A finite number in min..max. */
export function numberIn(min: number, max: number): Rule<number> {
  return rule(`a number in ${min}..${max}`, (v) => isNumber(v) && v >= min && v <= max);
}

/** An integer >= min. */
export function intAtLeast(min: number): Rule<number> {
  return rule(`an integer >= ${min}`, (v) => Number.isInteger(v) && (v as number) >= min);
}

export const positiveInt: Rule<number> = rule(
  'a positive integer',
  (v) => Number.isInteger(v) && (v as number) >= 1,
);

/** A finite number > 0 (a rate, a duration that cannot be zero). */
export const positive: Rule<number> = rule('a number > 0', (v) => isNumber(v) && v > 0);

/** A finite number >= min. */
export function atLeast(min: number): Rule<number> {
  return rule(`a number >= ${min}`, (v) => isNumber(v) && v >= min);
}

/** A TCP port; 0 asks the OS for a free one. */
export const portOrZero: Rule<number> = rule(
  'a port number 0..65535 (0 picks a free port)',
  (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65_535,
);

/** A duration in milliseconds, at least `min` (default 0). */
export function ms(min = 0): Rule<number> {
  return rule(`a number of ms >= ${min}`, (v) => isNumber(v) && v >= min);
}

/** The longest delay node's timers keep (2^31 − 1 ms, ~24.8 days): past it, setTimeout fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration in milliseconds that runs a timer: > 0 (or at least `min` when given), and at most
 * MAX_TIMER_MS, so a larger one is refused instead of firing at once; a whole number with `integer`.
 */
export function timerMs(min?: number, integer = false): Rule<number> {
  const floor = min === undefined ? '> 0' : `>= ${min}`;
  return rule(
    `${integer ? 'an integer' : 'a number'} of ms ${floor} and <= ${MAX_TIMER_MS} (~24.8 days, the longest timer)`,
    (v) =>
      isNumber(v) &&
      (min === undefined ? v > 0 : v >= min) &&
      v <= MAX_TIMER_MS &&
      (!integer || Number.isInteger(v)),
  );
}

/** A period that is either 0 (off) or at least `min` ms. */
export function offOrAtLeastMs(min: number, off: string): Rule<number> {
  return rule(`0 (${off}) or at least ${min}`, (v) => v === 0 || (isNumber(v) && v >= min));
}

export function oneOf<const T extends string>(values: readonly T[]): Rule<T> {
  const listed = values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values.at(-1)}` : `${values[0]}`;
  return rule(`one of ${listed}`, (v) => (values as readonly unknown[]).includes(v));
}

export const nonEmptyString: Rule<string> = rule(
  'a non-empty string',
  (v) => typeof v === 'string' && v !== '',
);

/** A URL with one of these schemes (`'mqtt:'`, `'http:'`, ...). */
export function url(schemes: readonly string[]): Rule<string> {
  return rule(`a URL with ${schemes.map((s) => `${s}//`).join(', ')}`, (v) => {
    if (typeof v !== 'string') return false;
    try {
      return schemes.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  });
}

/**
 * One URL or an ordered list of them (replicas of one service, the first preferred), each with one of
 * these schemes, none twice: what `--cloud a,b` and `broker: [a, b]` take.
 */
export function urlList(schemes: readonly string[]): Rule<string | readonly string[]> {
  const one = url(schemes);
  return rule(`${one.must}, or a non-empty list of them without repeats`, (v) => {
    if (typeof v === 'string') return one.test(v);
    return Array.isArray(v) && v.length > 0 && v.every((u) => one.test(u)) && new Set(v).size === v.length;
  });
}

/** The list form of a `urlList` value (a single URL → a list of one; undefined → empty). */
export function urlsOf(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** How a refused value reads in a message: strings quoted, everything else as JavaScript prints it. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * A checker for one set of options: `what` names them in messages (`edge agent`, `broker options`).
 * `check(field, value, rule)` returns the value, typed, or throws INVALID_ARG.
 */
export function optionChecker(what: string) {
  return function check<T>(field: string, value: unknown, r: Rule<T>): T {
    if (r.test(value)) return value;
    throw new FoglineError('INVALID_ARG', `${what}: ${field} must be ${r.must}, got ${shown(value)}`, {
      details: { field },
    });
  };
}

/** Checks every field of `options` that has a rule in `rules` and is not undefined. */
export function checkFields<O extends object>(
  check: ReturnType<typeof optionChecker>,
  options: O,
  rules: { readonly [K in keyof O]?: Rule<unknown> },
  prefix = '',
): void {
  for (const [field, r] of Object.entries(rules) as [keyof O & string, Rule<unknown>][]) {
    const value = options[field];
    if (value !== undefined) check(`${prefix}${field}`, value, r);
  }
}
