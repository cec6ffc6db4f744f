import { describe, expect, it } from 'vitest';
import { type AuditBody, auditReport, auditWire, readAuditBody } from './audit-report.ts';
import { encodeAuditUpload, MAX_AUDIT_UPLOAD, readAuditUpload } from './audit-upload.ts';
import { encodeDeviceReport, MAX_REPORT_BYTES, readDeviceReport } from './report-message.ts';

/** At the edges of the printable-id rule (names.ts). */
const PRINTABLE_IDS = { good: ['a', '~!"#$%', 'x'.repeat(128)], bad: ['', 'a b', 'é', 'x'.repeat(129)] };

const digitsInput = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
const audit: AuditBody = {
  id: 'dev-1-7',
  time: 1_765_000_000_000,
  rate: 0.02,
  model: 'digits-tiny:1',
  input: { name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: digitsInput },
  deviceOutputs: [0.1, -2.5, 3, 0, 0, 0, 0, 0, 0, 1.25],
  deviceScore: 0.42,
  tier: 'edge',
  answerOutputs: [0, 0, 9, 0, 0, 0, 0, 0, 0, 1],
  answerModelVersions: 'digits-tiny:1,digits-small:1',
};

describe('audit report', () => {
  it('round-trips through the report envelope, input bytes exact, within the report size limit', () => {
    const payload = encodeDeviceReport(auditReport(audit));
    expect(payload.byteLength).toBeLessThan(MAX_REPORT_BYTES);
    const reading = readDeviceReport(payload);
    if (!reading.ok) throw new Error(reading.detail);
    expect(reading.report.kind).toBe('audit');
    const body = readAuditBody(reading.report.body);
    if (!body.ok) throw new Error(body.reason);
    expect(Array.from(body.audit.input.data as Float32Array)).toEqual(Array.from(digitsInput));
    expect(body.audit).toMatchObject({ id: 'dev-1-7', rate: 0.02, tier: 'edge', deviceScore: 0.42 });
    expect(body.audit.answerOutputs).toEqual(audit.answerOutputs);
  });

  it('carries feedback as its own report kind, with the label, and keeps the source through an upload', () => {
    const feedback: AuditBody = { ...audit, rate: 1, source: 'feedback', label: 2 };
    const reading = readDeviceReport(encodeDeviceReport(auditReport(feedback)));
    if (!reading.ok) throw new Error(reading.detail);
    expect(reading.report.kind).toBe('feedback');
    expect(readAuditBody(reading.report.body)).toMatchObject({
      ok: true,
      audit: { source: 'feedback', label: 2 },
    });
    const upload = readAuditUpload(
      JSON.parse(
        encodeAuditUpload({
          cloudModel: 'digits-large',
          keepInputs: false,
          audits: [{ deviceId: 'dev-1', audit: feedback, edge: null }],
        }),
      ),
    );
    expect(upload).toMatchObject({
      ok: true,
      upload: { audits: [{ audit: { source: 'feedback', label: 2 } }] },
    });
    // An audit stays an audit: no source, no label.
    const plain = readAuditBody(JSON.parse(JSON.stringify(auditWire(audit))));
    if (!plain.ok) throw new Error(plain.reason);
    expect('source' in plain.audit || 'label' in plain.audit).toBe(false);
  });

  it('refuses a feedback label out of the classes, a label on an audit and an unknown source', () => {
    const wire = JSON.parse(JSON.stringify(auditWire(audit)));
    const read = (extra: Record<string, unknown>) => readAuditBody({ ...wire, ...extra });
    expect(read({ source: 'feedback', label: 10 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/"label"/),
    });
    expect(read({ source: 'feedback', label: 1.5 })).toMatchObject({ ok: false });
    expect(read({ source: 'feedback' })).toMatchObject({ ok: false });
    expect(read({ label: 3 })).toMatchObject({ ok: false, reason: expect.stringMatching(/feedback/) });
    expect(read({ source: 'other' })).toMatchObject({ ok: false, reason: expect.stringMatching(/"source"/) });
    expect(read({ source: 'audit' })).toMatchObject({ ok: true });
    expect(() => auditReport({ ...audit, source: 'feedback', label: 99 })).toThrow(/label/);
  });

  it('keeps a quantized input and its quantization', () => {
    const q: AuditBody = {
      ...audit,
      input: { name: 'x', datatype: 'UINT8', shape: [1, 4], data: Uint8Array.of(0, 1, 254, 255) },
      inputQuantization: { scale: 1 / 255, zero_point: 0 },
    };
    const body = readAuditBody(JSON.parse(JSON.stringify(auditWire(q))));
    expect(body).toMatchObject({ ok: true, audit: { inputQuantization: { scale: 1 / 255, zero_point: 0 } } });
    if (body.ok) expect(Array.from(body.audit.input.data as Uint8Array)).toEqual([0, 1, 254, 255]);
  });

  it('refuses each malformed field with a reason', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the cases spoil arbitrary fields of the parsed JSON
    type Wire = any;
    const wire = JSON.parse(JSON.stringify(auditWire(audit)));
    const cases: Array<[string, (w: Wire) => void]> = [
      ['"id"', (w) => (w.id = '')],
      ['"time"', (w) => (w.time = -1)],
      ['"rate"', (w) => (w.rate = 0)],
      ['"rate"', (w) => (w.rate = 1.5)],
      ['"model"', (w) => (w.model = 'tiny')],
      ['"input.data"', (w) => (w.input.data = w.input.data.slice(8))],
      ['"input.data"', (w) => (w.input.data = '!!!')],
      ['"input.shape"', (w) => (w.input.shape = [1, 0])],
      ['"input.datatype"', (w) => (w.input.datatype = 'BYTES')],
      ['"device.outputs"', (w) => (w.device.outputs = [1, 'a'])],
      ['"device.score"', (w) => (w.device.score = null)],
      ['"answer.tier"', (w) => (w.answer.tier = 'fog')],
      ['"answer.outputs"', (w) => (w.answer.outputs = [1, 2])],
    ];
    for (const [field, spoil] of cases) {
      const bad = structuredClone(wire);
      spoil(bad);
      const reading = readAuditBody(bad);
      expect(reading.ok, field).toBe(false);
      if (!reading.ok) expect(reading.reason).toContain(field);
    }
    expect(readAuditBody([])).toMatchObject({ ok: false });
  });

  it('takes an id by the one printable-id rule, refusing the rest with one message', () => {
    const wire = JSON.parse(JSON.stringify(auditWire(audit)));
    for (const id of PRINTABLE_IDS.good) expect(readAuditBody({ ...wire, id }).ok, id).toBe(true);
    for (const id of PRINTABLE_IDS.bad) {
      expect(readAuditBody({ ...wire, id }), id).toEqual({
        ok: false,
        reason: '"id" must be 1–128 printable chars',
      });
    }
  });

  it('will not build an audit its edge would refuse', () => {
    expect(() => auditReport({ ...audit, rate: 0 })).toThrow(/rate/);
  });
});

describe('audit upload', () => {
  const upload = {
    cloudModel: 'digits-large',
    keepInputs: false,
    audits: [
      {
        deviceId: 'dev-1',
        audit,
        edge: { model: 'digits-small:1', outputs: audit.deviceOutputs, score: 0.9 },
      },
      { deviceId: 'dev-2', audit, edge: null },
    ],
  };

  it('round-trips an edge batch', () => {
    const reading = readAuditUpload(JSON.parse(encodeAuditUpload(upload)));
    if (!reading.ok) throw new Error(reading.reason);
    expect(reading.upload).toMatchObject({ cloudModel: 'digits-large', keepInputs: false });
    expect(reading.upload.audits.map((a) => [a.deviceId, a.edge?.score ?? null])).toEqual([
      ['dev-1', 0.9],
      ['dev-2', null],
    ]);
  });

  it('refuses the whole batch on one bad audit, naming it', () => {
    const wire = JSON.parse(encodeAuditUpload(upload));
    wire.audits[1].audit.rate = 2;
    expect(readAuditUpload(wire)).toEqual({
      ok: false,
      reason: expect.stringContaining('audits[1].audit: "rate"'),
    });
    const noEdgeModel = JSON.parse(encodeAuditUpload(upload));
    noEdgeModel.audits[0].edge.outputs = [1];
    expect(readAuditUpload(noEdgeModel)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('audits[0].edge'),
    });
    const tooMany = {
      ...JSON.parse(encodeAuditUpload(upload)),
      audits: new Array(MAX_AUDIT_UPLOAD + 1).fill(wire.audits[0]),
    };
    expect(readAuditUpload(tooMany)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"audits"'),
    });
    expect(readAuditUpload({ ...wire, keep_inputs: 'yes' })).toMatchObject({ ok: false });
    expect(readAuditUpload({ ...wire, audits: [] })).toMatchObject({ ok: false });
  });
  it('carries the shadow answer of the previous edge model beside the edge answer, and refuses a malformed one', () => {
    const edge = { model: 'digits-mid:2', outputs: [0, 0, 9, 0, 0, 0, 0, 0, 0, 1], score: 0.9 };
    const shadow = { model: 'digits-mid:1', outputs: [0, 0, 8, 0, 0, 0, 0, 0, 0, 2], score: 0.7 };
    const wire = JSON.parse(
      encodeAuditUpload({
        cloudModel: 'digits-large',
        keepInputs: true,
        audits: [{ deviceId: 'dev-1', audit, edge, shadow }],
      }),
    );
    expect(readAuditUpload(wire)).toMatchObject({ ok: true, upload: { audits: [{ edge, shadow }] } });
    const without = readAuditUpload(
      JSON.parse(
        encodeAuditUpload({
          cloudModel: 'digits-large',
          keepInputs: true,
          audits: [{ deviceId: 'dev-1', audit, edge }],
        }),
      ),
    );
    expect(without.ok && 'shadow' in (without.upload.audits[0] ?? {})).toBe(false);
    wire.audits[0].shadow = { ...shadow, outputs: [1, 2] };
    expect(readAuditUpload(wire)).toMatchObject({ ok: false, reason: expect.stringMatching(/shadow/) });
    wire.audits[0].shadow = null;
    expect(readAuditUpload(wire)).toMatchObject({ ok: false, reason: expect.stringMatching(/shadow/) });
  });
});
