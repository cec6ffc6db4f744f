/** byteRangeOf: what a model-file server sends for a Range / If-Range (RFC 9110 §13.1.5, §14). */
import { describe, expect, it } from 'vitest';
import { byteRangeOf, contentRangeOf } from './byte-range.ts';

const ETAG = '"abc"';
const of = (range: string | undefined, ifRange?: string, size = 100) =>
  byteRangeOf({ range, ifRange }, size, ETAG);

describe('byteRangeOf', () => {
  it('serves one range: a-b, a-, -n, clipped to the file', () => {
    expect(of('bytes=10-19')).toEqual({ kind: 'part', start: 10, end: 19 });
    expect(of('bytes=90-')).toEqual({ kind: 'part', start: 90, end: 99 });
    expect(of('bytes=-5')).toEqual({ kind: 'part', start: 95, end: 99 });
    expect(of('bytes=-500')).toEqual({ kind: 'part', start: 0, end: 99 });
    expect(of('bytes=50-1000')).toEqual({ kind: 'part', start: 50, end: 99 });
    expect(of('Bytes = 0-0 ')).toEqual({ kind: 'part', start: 0, end: 0 });
  });

  it('416 for a range past the end, a zero suffix, any range of an empty file', () => {
    expect(of('bytes=100-')).toEqual({ kind: 'unsatisfiable' });
    expect(of('bytes=100-200')).toEqual({ kind: 'unsatisfiable' });
    expect(of('bytes=-0')).toEqual({ kind: 'unsatisfiable' });
    expect(of('bytes=0-', undefined, 0)).toEqual({ kind: 'unsatisfiable' });
    expect(of('bytes=-3', undefined, 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('the whole file for no range, bad syntax, several ranges or another unit (never throws)', () => {
    for (const header of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=5-3',
      'bytes=a-b',
      'bytes=1-2,4-5',
      'items=0-1',
      'bytes=0x10-',
      'bytes=1234567890123456-',
      'bytes=-1-2',
      '\u0000\uffff',
    ]) {
      expect(of(header)).toEqual({ kind: 'whole' });
    }
  });

  it('If-Range: the range only while the strong ETag is the same', () => {
    expect(of('bytes=10-', ETAG)).toEqual({ kind: 'part', start: 10, end: 99 });
    expect(of('bytes=10-', '"other"')).toEqual({ kind: 'whole' });
    expect(of('bytes=10-', `W/${ETAG}`)).toEqual({ kind: 'whole' });
    expect(of('bytes=10-', 'Wed, 21 Oct 2015 07:28:00 GMT')).toEqual({ kind: 'whole' });
    expect(byteRangeOf({ range: 'bytes=10-', ifRange: 'W/"abc"' }, 100, 'W/"abc"')).toEqual({
      kind: 'whole',
    });
  });

  it('Content-Range of a part and of a 416', () => {
    expect(contentRangeOf({ start: 10, end: 19 }, 100)).toBe('bytes 10-19/100');
    expect(contentRangeOf(undefined, 100)).toBe('bytes */100');
  });
});
