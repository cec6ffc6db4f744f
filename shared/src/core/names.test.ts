import { describe, expect, it } from 'vitest';
import { checkName, isValidName } from './names.ts';

describe('the name rule', () => {
  it('takes the names fogline makes: letters, digits, ".", "_", "-", starting with a letter or digit', () => {
    for (const name of ['digits-mid', 'digits_tiny.v2', 'a', 'A9', 'x'.repeat(64)]) {
      expect(isValidName(name), name).toBe(true);
    }
  });

  it('refuses what would leave a directory or break a topic, with INVALID_ARG naming the field', () => {
    const escaping = ['.', '..', '.hidden', '../x', 'a/b', 'a\\b'];
    const others = ['-x', '_x', 'a b', 'a+', 'a#', '', 'x'.repeat(65)];
    for (const name of [...escaping, ...others]) expect(isValidName(name), name).toBe(false);
    expect(isValidName(7)).toBe(false);
    expect(() => checkName('model name', '..')).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARG',
        message: expect.stringMatching(/^model name must match .*starting with a letter or digit\)$/),
        details: { field: 'model name', value: '..' },
      }),
    );
    expect(checkName('model name', 'digits-mid')).toBe('digits-mid');
  });
});
