import { describe, expect, it } from 'vitest';
import {
  checkFields,
  intIn,
  ms,
  offOrAtLeastMs,
  oneOf,
  optionChecker,
  portOrZero,
  positive,
  positiveInt,
  timerMs,
  url,
} from './options.ts';

describe('option rules', () => {
  it.each([
    ['positiveInt', positiveInt, [1, 7], [0, -1, 1.5, Number.NaN, '3']],
    ['positive', positive, [0.001, 5], [0, -1, Number.POSITIVE_INFINITY, Number.NaN]],
    ['intIn(1, 64)', intIn(1, 64), [1, 64], [0, 65, 2.5]],
    ['portOrZero', portOrZero, [0, 1883, 65_535], [-1, 65_536, 80.5]],
    ['ms(100)', ms(100), [100, 5000.5], [99, -1, Number.NaN]],
    ['timerMs()', timerMs(), [0.5, 2 ** 31 - 1], [0, -1, 2 ** 31, Number.POSITIVE_INFINITY]],
    ['timerMs(100, integer)', timerMs(100, true), [100, 30_000], [99, 100.5, 2 ** 31]],
    ['offOrAtLeastMs(100)', offOrAtLeastMs(100, 'off'), [0, 100, 30_000], [1, 99, -5]],
    ['oneOf', oneOf(['local', 'queue']), ['local', 'queue'], ['remote', 1, undefined]],
    ['url(mqtt)', url(['mqtt:', 'ws:']), ['mqtt://h:1883', 'ws://h/mqtt'], ['http://h', 'no url', 7]],
  ] as const)('%s accepts what it says and refuses the rest', (_name, rule, good, bad) => {
    for (const value of good) expect(rule.test(value), String(value)).toBe(true);
    for (const value of bad) expect(rule.test(value), String(value)).toBe(false);
  });
});

describe('optionChecker', () => {
  const check = optionChecker('edge agent');

  it('returns a good value and refuses a bad one with INVALID_ARG naming the options, field, rule and value', () => {
    expect(check('workers', 4, positiveInt)).toBe(4);
    expect(() => check('workers', 0, positiveInt)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARG',
        message: 'edge agent: workers must be a positive integer, got 0',
        details: { field: 'workers' },
      }),
    );
    expect(() => check('offline', 'remote', oneOf(['local', 'queue']))).toThrow(
      'edge agent: offline must be one of local or queue, got "remote"',
    );
  });

  it('checkFields checks the fields that are set and skips the absent ones', () => {
    const rules = { workers: positiveInt, delayMs: ms() };
    expect(() => checkFields(check, { workers: 2 }, rules)).not.toThrow();
    expect(() => checkFields(check, { workers: 2, delayMs: -1 }, rules, 'serving.')).toThrow(
      'edge agent: serving.delayMs must be a number of ms >= 0, got -1',
    );
  });
});
