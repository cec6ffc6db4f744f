import { describe, expect, it } from 'vitest';
import {
  CHANGE_ID_RULE,
  checkName,
  isChangeId,
  isLongModelName,
  isModelLabel,
  isPrintableId,
  isValidName,
  PRINTABLE_ID_RULE,
} from './names.ts';

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

/** Ids that are not names, at the edges of the printable-id rule (the fabric readers' tests use them too). */
const PRINTABLE_IDS = {
  good: ['a', '~!"#$%', 'req/1:a+b', 'x'.repeat(128)],
  bad: ['', 'a b', 'a\tb', 'é', 'x'.repeat(129)],
};

describe('the printable-id and model-label rules of fabric messages', () => {
  it('a printable id is 1–128 printable ASCII characters, no space', () => {
    for (const id of PRINTABLE_IDS.good) expect(isPrintableId(id), id).toBe(true);
    for (const id of [...PRINTABLE_IDS.bad, 7, null]) expect(isPrintableId(id), String(id)).toBe(false);
    expect(PRINTABLE_ID_RULE).toBe('1–128 printable chars');
  });

  it('a model label is name:version, the name starting with a letter or digit', () => {
    for (const label of ['digits-tiny:1', `a${'b'.repeat(127)}:${'1'.repeat(64)}`]) {
      expect(isModelLabel(label), label).toBe(true);
    }
    for (const label of ['digits-tiny', ':1', '-x:1', 'a:', 'a:b:c', `a${'b'.repeat(128)}:1`, 'a b:1', 1]) {
      expect(isModelLabel(label), String(label)).toBe(false);
    }
  });
});

describe('the long model name and change-id rules', () => {
  it("a long model name has the name rule's characters, up to 128, never leaving a directory", () => {
    for (const name of ['digits-mid', 'a..b', `a${'b'.repeat(127)}`])
      expect(isLongModelName(name), name).toBe(true);
    for (const name of ['', '.', '..', '.hidden', 'a/b', 'a\\b', '-x', 'a:1', `a${'b'.repeat(128)}`, 7]) {
      expect(isLongModelName(name), String(name)).toBe(false);
    }
  });

  it('a deployment or routing-directive id is 1-64 of [A-Za-z0-9._:-]', () => {
    for (const id of ['dep-1', 'digits-mid:2026-12-07T05:00:00.000Z', ':', 'x'.repeat(64)]) {
      expect(isChangeId(id), id).toBe(true);
    }
    for (const id of ['', 'a b', 'a/b', 'a#', 'x'.repeat(65), 7, null])
      expect(isChangeId(id), String(id)).toBe(false);
    expect(CHANGE_ID_RULE).toBe('1-64 chars of [A-Za-z0-9._:-]');
  });
});
