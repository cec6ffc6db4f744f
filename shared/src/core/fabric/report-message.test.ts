import { describe, expect, it } from 'vitest';
import { encodeDeviceReport, MAX_REPORT_BYTES, readDeviceReport } from './report-message.ts';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('device report', () => {
  it('round-trips a report of a known kind', () => {
    const report = { kind: 'histogram', body: { bins: [1, 2, 3] } } as const;
    expect(readDeviceReport(encodeDeviceReport(report))).toEqual({ ok: true, report });
  });

  it('tells an unknown kind (a newer device) from a malformed report', () => {
    expect(readDeviceReport(bytes({ kind: 'weather', body: {} }))).toMatchObject({
      ok: false,
      reason: 'unknown-kind',
    });
    for (const bad of [
      bytes({ kind: 'audit' }),
      bytes({ kind: 3, body: {} }),
      bytes({ kind: 'audit', body: [] }),
      bytes('audit'),
      new TextEncoder().encode('{'),
      new Uint8Array(MAX_REPORT_BYTES + 1),
    ]) {
      expect(readDeviceReport(bad)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });
});
