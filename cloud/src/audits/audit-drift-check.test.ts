/**
 * The cloud's own drift figures wired into a real CloudServer (PGlite): audit records in the
 * controller's field window of each edge (entered as the controller enters the records it reads from
 * the store, `windowRecordOf`), the calibration histograms in the served edge model's config
 * (`drift`, `drift.baseline.cloudScores`), and the two PSIs in `/metrics` (promtool-clean) and
 * `GET /api/edges`. "Reference weak" is the controller's signal alone: no second metric here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudAdminClient } from '../admin-client.ts';
import { CloudServer } from '../cloud-server.ts';
import { windowRecordOf } from '../controller/field-window.ts';
import type { AuditRecord, NewAuditRecord } from '../store/index.ts';
import { makeModelRepo, tempDir } from '../testing/cloud-fixture.ts';

const REFERENCE = { bins: [0, 0.25, 0.5, 0.75, 1], reference: [0.25, 0.25, 0.25, 0.25], records: 1000 };
const DRIFT = {
  score: 'maxprob',
  model: 'digits-tiny',
  version: 1,
  ...REFERENCE,
  baseline: {
    disagreement: 0.003,
    edgeAgreement: 0.98,
    cloudAccuracy: 0.99,
    cloudScores: { score: 'margin', model: 'digits-large', version: 1, ...REFERENCE },
  },
};

const modelsDir = makeModelRepo(['digits-mid-int8', 'digits-large']);
const dataDir = tempDir('audit-drift');
const lines: string[] = [];
let server: CloudServer;
let admin: CloudAdminClient;
let url: string;
let adminToken: string;

/** `count` audit records of `edgeId`, device scores spread over the reference's bins, cloud scores from `cloudScore`. */
function records(edgeId: string, count: number, cloudScore: (i: number) => number): NewAuditRecord[] {
  const answer = (model: string, score: number) => ({ model, outputs: [1, 0], score, label: 0 });
  return Array.from({ length: count }, (_, i) => ({
    source: 'audit',
    edgeId,
    deviceId: 'dev-1',
    requestId: `${edgeId}-${i}`,
    answeredAt: new Date(),
    rate: 0.02,
    answerTier: 'device',
    device: answer('digits-tiny:1', ((i % 4) + 0.5) / 4),
    edge: answer('digits-mid-int8:1', 0.9),
    cloud: answer('digits-large:1', cloudScore(i)),
    input: null,
    inputExpiresAt: null,
  }));
}

beforeAll(async () => {
  const file = join(modelsDir, 'digits-mid-int8', 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), drift: DRIFT }));
  server = new CloudServer(
    {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      modelsDir,
      dataDir,
      serving: { workers: 1, intraOpThreads: 1 },
    },
    (err) => console.error('cloud internal error', err),
    (line) => lines.push(line),
  );
  const ready = await server.start();
  url = ready.http.url;
  adminToken = ready.adminToken.token;
  admin = new CloudAdminClient({ url, adminToken });
  for (const edge of ['steady', 'weak', 'few']) await admin.createEdge(edge);
  // Into the controller's windows only (not the store): the check reads the window, not the store.
  const kinds = { device: 'maxprob', edge: 'maxprob', cloud: 'margin' } as const;
  const enter = (rows: NewAuditRecord[]) =>
    rows.forEach((r, i) => {
      const stored: AuditRecord = { ...r, id: i + 1, createdAt: new Date(), feedbackLabel: null };
      const record = windowRecordOf(stored, kinds, Date.now());
      if (record) server.controller.windows.add(r.edgeId, record);
    });
  enter(records('steady', 600, (i) => ((i % 4) + 0.5) / 4));
  // The cloud's own scores all in one bin: a large model far from anything it saw.
  enter(records('weak', 600, () => 0.1));
  enter(records('few', 100, () => 0.1));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(modelsDir, { recursive: true, force: true });
});

describe("the cloud's drift figures on the controller's windows", () => {
  it('shows both PSIs per edge in /metrics and GET /api/edges, and leaves "reference weak" to the controller', async () => {
    await server.auditDrift.refresh();
    const listed = async () => {
      const res = await fetch(`${url}/api/edges`, { headers: { authorization: `Bearer ${adminToken}` } });
      const { edges } = (await res.json()) as { edges: { id: string; auditDrift: unknown }[] };
      return Object.fromEntries(edges.map((e) => [e.id, e.auditDrift]));
    };
    const drift = await listed();
    expect(drift.steady).toEqual({
      device: { psi: expect.closeTo(0, 6), records: 600 },
      cloud: { psi: expect.closeTo(0, 6), records: 600 },
      at: expect.any(String),
    });
    expect(drift.weak).toMatchObject({ device: { psi: expect.closeTo(0, 6) } });
    expect((drift.weak as { cloud: { psi: number } }).cloud.psi).toBeGreaterThan(1);
    // Too few records for a PSI: the counts, no figure.
    expect(drift.few).toMatchObject({ device: { psi: null, records: 100 }, cloud: { psi: null } });
    expect(lines.filter((l) => l.includes('reference weak'))).toEqual([]);

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/fogline_audit_drift_psi\{edge="weak",scores="cloud"\} [1-9]/);
    expect(text).toMatch(/fogline_audit_drift_psi\{edge="steady",scores="device"\} /);
    expect(text).not.toMatch(/fogline_audit_drift_psi\{edge="few"/);
    expect(text).not.toMatch(/fogline_audit_reference_weak/);
    const probe = spawnSync('promtool', ['--version']);
    if (probe.error === undefined && probe.status === 0) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    }

    // The window restarts (a drift alarm): its figures go with it rather than staying stale.
    server.controller.windows.restart('weak');
    await server.auditDrift.refresh();
    expect((await listed()).weak).toBeNull();
    expect(await (await fetch(`${url}/metrics`)).text()).not.toMatch(/fogline_audit_drift_psi\{edge="weak"/);
  }, 60_000);
});
