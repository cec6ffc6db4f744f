/**
 * The relay's upload timing: a partial batch waits `flushMs` (1 s) normally, and only `urgentFlushMs`
 * while `urgent()` (a drift alarm, when the controller waits for the records). The edge model here is
 * an in-memory stand-in: what is tested is when the relay uploads, not what the model answers
 * (edge-agent.audits.test.ts and edge-agent.audit-floor.test.ts run it on a real model and sockets).
 */
import { type AuditBody, auditReport, type Tensor } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { type AuditModel, AuditRelay } from './audit-relay.ts';

const audit: AuditBody = {
  id: 'req-1',
  time: Date.now(),
  rate: 0.2,
  model: 'digits-tiny:1',
  input: { name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([0, 1, 0, 0]) },
  deviceOutputs: [0, 1, 0, 0],
  deviceScore: 0.5,
  tier: 'device',
};

const model: AuditModel = {
  label: 'm:1',
  queueDepth: 0,
  batchesInFlight: 0,
  validate: (r) => r.tensors[0] as Tensor,
  infer: async () => ({
    values: new Float32Array([0, 1, 0, 0]),
    probabilities: new Float64Array([0, 1, 0, 0]),
  }),
};

/** The options every relay here shares. */
const base = {
  model,
  routing: () => ({ score: 'margin', threshold: 0.5 }) as const,
  cloudModel: 'digits-large',
  keepInputs: false,
  cloudDown: () => false,
  warn: () => {},
};

/** A relay whose uploads are timed from the audit's arrival. */
function relayWith(urgent: boolean) {
  const uploads: number[] = [];
  const start = performance.now();
  const relay = new AuditRelay({
    ...base,
    upload: async () => {
      uploads.push(performance.now() - start);
      return { accepted: 1, dropped: 0 };
    },
    flushMs: 1_000,
    urgent: () => urgent,
    urgentFlushMs: 50,
  });
  relay.receive('dev-1', auditReport(audit));
  return { relay, uploads };
}

describe('audit relay uploads', () => {
  it('a partial batch leaves after flushMs normally, after urgentFlushMs during an alarm', async () => {
    const calm = relayWith(false);
    const alarm = relayWith(true);
    await new Promise((r) => setTimeout(r, 400));
    expect(alarm.uploads).toHaveLength(1);
    expect(calm.uploads).toHaveLength(0);
    await expect.poll(() => calm.uploads.length, { timeout: 3_000 }).toBe(1);
    expect(calm.uploads[0]).toBeGreaterThanOrEqual(990);
    calm.relay.close();
    alarm.relay.close();
  });

  it('during an alarm, by default, an audit leaves at once; those ready while one uploads go in the next', async () => {
    const uploads: { size: number; done: () => void }[] = [];
    const relay = new AuditRelay({
      ...base,
      upload: (body) =>
        new Promise((done) => {
          const size = (JSON.parse(body) as { audits: unknown[] }).audits.length;
          uploads.push({ size, done: () => done({ accepted: size, dropped: 0 }) });
        }),
      urgent: () => true,
    });
    relay.receive('dev-1', auditReport(audit));
    await expect.poll(() => uploads.length, { timeout: 100 }).toBe(1);
    for (let k = 0; k < 3; k++) relay.receive('dev-1', auditReport({ ...audit, id: `req-${k + 2}` }));
    await new Promise((r) => setTimeout(r, 50));
    expect(uploads.map((u) => u.size)).toEqual([1]);
    uploads[0]!.done();
    await expect.poll(() => uploads.length, { timeout: 100 }).toBe(2);
    expect(uploads.map((u) => u.size)).toEqual([1, 3]);
    uploads[1]!.done();
    await expect.poll(() => relay.counts().uploaded).toBe(4);
    relay.close();
  });
});
