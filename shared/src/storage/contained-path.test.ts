import { describe, expect, it } from 'vitest';
import { pathEscapeOf } from './contained-path.ts';

describe('pathEscapeOf: a relative path from outside stays under its directory', () => {
  it.each([['admin-token'], ['store/sha256/ab'], ['pglite/base/1/'], ['a..b/c.d'], ['./x']])(
    '%s stays',
    (path) => {
      expect(pathEscapeOf(path)).toBeUndefined();
    },
  );

  it.each([
    ['', 'is empty'],
    ['..', "has a '..' part"],
    ['../x', "has a '..' part"],
    ['store/../../x', "has a '..' part"],
    ['store\\..\\..\\x', "has a '..' part"],
    ['/etc/passwd', 'is absolute'],
    ['\\\\host\\share', 'is absolute'],
    ['C:\\x', 'is absolute'],
    ['c:x', 'is absolute'],
    ['a\0b', 'holds a NUL byte'],
  ])('%j is refused: %s', (path, why) => {
    expect(pathEscapeOf(path)).toBe(why);
  });
});
