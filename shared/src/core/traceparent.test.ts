import { describe, expect, it } from 'vitest';
import { childTraceparent, formatTraceparent, parseTraceparent } from './traceparent.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent', () => {
  it('parses the W3C example and formats it back', () => {
    const tp = parseTraceparent(VALID);
    expect(tp).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(formatTraceparent(tp!)).toBe(VALID);
  });

  it('refuses anything not strictly valid', () => {
    for (const bad of [
      undefined,
      42,
      '',
      VALID.toUpperCase(),
      `${VALID}-extra`, // version 00 has exactly four fields
      VALID.replace(/^00/, 'ff'),
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1',
      ` ${VALID}`,
      'x'.repeat(600),
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it('accepts a later version and drops its extra fields', () => {
    const tp = parseTraceparent(`01-${VALID.slice(3)}-what-comes-next`);
    expect(tp && formatTraceparent(tp)).toBe(VALID);
  });

  it('a child keeps the trace id and flags, with a new parent id; without a parent starts a trace', () => {
    const parent = parseTraceparent(VALID)!;
    const child = childTraceparent(parent);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.flags).toBe('01');
    expect(child.parentId).not.toBe(parent.parentId);
    const fresh = formatTraceparent(childTraceparent());
    expect(parseTraceparent(fresh)).toBeDefined();
    expect(fresh).not.toContain(parent.traceId);
  });
});
