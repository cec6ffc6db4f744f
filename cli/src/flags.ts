/**
 * Commander parsers for flags, each deferring to an option rule from @fogline/shared/options (the
 * resolvers' own), so a flag and the option it sets accept exactly the same values.
 */
import { portOrZero, positiveInt, type Rule } from '@fogline/shared';
import { InvalidArgumentError, Option } from 'commander';

/** A commander parser for a number flag, checked by an option rule. */
export function numberFlag(flag: string, rule: Rule<number>): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!rule.test(n)) throw new InvalidArgumentError(`${flag} must be ${rule.must}, got "${value}"`);
    return n;
  };
}

/**
 * A number option checked by `rule`, with a default (null where the default is "none", e.g. no MQTT
 * listener): `numberOption('--http-port <port>', 'HTTP port', rule, 8080)`.
 */
export function numberOption(
  flags: string,
  description: string,
  rule: Rule<number>,
  fallback: number | null,
): Option {
  const flag = flags.split(' ')[0]!;
  return new Option(flags, description).argParser(numberFlag(flag, rule)).default(fallback);
}

/** A commander parser for a text flag (an id, a URL, a kind), checked by an option rule. */
export function textFlag<T extends string>(flag: string, rule: Rule<T>): (value: string) => T {
  return (value) => {
    if (!rule.test(value)) throw new InvalidArgumentError(`${flag} must be ${rule.must}, got "${value}"`);
    return value;
  };
}

/**
 * A commander parser for one URL or a comma-separated list of them (`--cloud a,b`), checked whole by a
 * list rule (shared `urlList`): a single URL gives a string, several an array.
 */
export function urlListFlag(
  flag: string,
  rule: Rule<string | readonly string[]>,
): (value: string) => string | readonly string[] {
  return (value) => {
    const list = value.split(',').map((s) => s.trim());
    const parsed = list.length === 1 ? list[0]! : list;
    if (!rule.test(parsed)) throw new InvalidArgumentError(`${flag} must be ${rule.must}, got "${value}"`);
    return parsed;
  };
}

/** A commander parser for a comma-separated list of numbers, each checked by an option rule. */
export function numberListFlag(flag: string, rule: Rule<number>): (value: string) => number[] {
  return (value) => {
    const list = value.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
    if (!list.every((n) => rule.test(n))) {
      throw new InvalidArgumentError(
        `${flag} must be a comma-separated list, each ${rule.must}, got "${value}"`,
      );
    }
    return list;
  };
}

/** Commander argument parser for flags that take a positive integer. */
export function parsePositiveInt(flag: string): (value: string) => number {
  return numberFlag(flag, positiveInt);
}

/** Commander argument parser for port flags: 0 picks a free port. */
export function parsePort(flag: string): (value: string) => number {
  return numberFlag(flag, portOrZero);
}
