/**
 * The models' quantization and calibration reports: what the committed repository's reports say,
 * and `GET /api/models/{name}/reports` on a real CloudServer (admin only, bad and unknown names,
 * reports from outside that are too large or of the wrong shape answered as errors in their place).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, type FabricCloud, makeModelRepo, startFabricCloud } from '../testing/index.ts';
import { ModelReports, type ModelReportsView } from './model-reports.ts';
import { MAX_REPORT_BYTES } from './report-views.ts';

type Calibration = Exclude<ModelReportsView['calibration'], { error: string } | null>;

describe('the committed repository', () => {
  const reports = new ModelReports(DEFAULT_MODELS_DIR);

  it('shows digits-mid-int8 v1 as static int8, with its quantize report', async () => {
    const view = await reports.of('digits-mid-int8');
    const [v1] = view.versions;
    expect(v1?.precision).toMatchObject({ precision: 'int8', scheme: 'static' });
    const q = v1?.quantization;
    if (!q || 'error' in q) throw new Error(`no quantize report: ${JSON.stringify(q)}`);
    expect(q.settings).toMatch(/^static QDQ/);
    expect(q.int8Bytes).toBeLessThan(q.fp32Bytes);
    expect(q.comparisons.find((c) => c.source === 'digits:test')?.accuracyDropPp).toBe(0);
  });

  it('shows the fp32 models as fp32, without a quantize report', async () => {
    for (const name of ['digits-tiny', 'digits-mid', 'digits-large']) {
      const [v1] = (await reports.of(name)).versions;
      expect(v1?.precision).toEqual({ precision: 'fp32' });
      expect(v1?.quantization).toBeNull();
    }
  });

  it('ties the calibration report to the routing the configs hold', async () => {
    const edge = (await reports.of('digits-mid-int8')).calibration as Calibration;
    const device = (await reports.of('digits-tiny')).calibration as Calibration;
    expect(edge.role).toBe('edge');
    expect(device.role).toBe('device');
    expect(edge.matchesConfig).toBe(true);
    expect(device.matchesConfig).toBe(true);
    // One calibration of the cascade: both models carry the same report.
    expect(edge.sha256).toBe(device.sha256);
    expect(edge.frontier.length).toBeGreaterThan(2);
    const chosen = edge.rows.find((r) => r.name === 'chosen')!;
    expect(chosen.policy?.edge).toEqual((await reports.of('digits-mid-int8')).routing);
    // The cloud model was not calibrated on its own: no report beside it.
    expect((await reports.of('digits-large')).calibration).toBeNull();
  });
});

describe('GET /api/models/{name}/reports', () => {
  let cloud: FabricCloud;
  let repo: string;

  beforeAll(async () => {
    repo = makeModelRepo(['digits-tiny']);
    addModel(repo, 'digits-mid-int8');
    for (const file of ['calibration.json', join('1', 'quantize.json')]) {
      cpSync(join(DEFAULT_MODELS_DIR, 'digits-mid-int8', file), join(repo, 'digits-mid-int8', file));
    }
    // A report whose frontier has an accuracy of 7, and one far too large.
    const report = JSON.parse(
      readFileSync(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'calibration.json'), 'utf8'),
    );
    report.frontier[1].outcome.accuracy = 7;
    writeFileSync(join(repo, 'digits-tiny', 'calibration.json'), JSON.stringify(report));
    writeFileSync(join(repo, 'digits-tiny', '1', 'quantize.json'), ' '.repeat(MAX_REPORT_BYTES + 1));
    cloud = await startFabricCloud({ modelsDir: repo });
  }, 60_000);
  afterAll(() => cloud?.stop());

  const get = (name: string, headers: Record<string, string> = {}) =>
    fetch(`${cloud.url}/api/models/${name}/reports`, { headers });
  const admin = () => ({ authorization: `Bearer ${cloud.ready.adminToken.token}` });

  it('refuses a caller without the admin token or a session', async () => {
    expect((await get('digits-mid-int8')).status).toBe(401);
    expect((await get('digits-mid-int8', { cookie: 'fogline_session=forged' })).status).toBe(401);
  });

  it('answers a signed-in browser', async () => {
    const login = await fetch(`${cloud.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: cloud.url },
      body: JSON.stringify({ token: cloud.ready.adminToken.token }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const res = await get('digits-mid-int8', { cookie });
    expect(res.status).toBe(200);
    const view = (await res.json()) as ModelReportsView;
    expect(view.versions[0]?.precision).toMatchObject({ precision: 'int8', scheme: 'static' });
    expect((view.calibration as Calibration).objective).toMatch(/always-cloud − 0.2 pp/);
  });

  it('answers 400 for a name that is not a model name, 404 for an unknown model', async () => {
    const bad = await get('..%2F..%2Fetc', admin());
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/model name must match/);
    const unknown = await get('no-such-model', admin());
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('unknown model "no-such-model"');
  });

  it('answers a report it cannot use as an error in its place, and keeps serving', async () => {
    const res = await get('digits-tiny', admin());
    expect(res.status).toBe(200);
    const view = (await res.json()) as ModelReportsView;
    expect(view.calibration).toEqual({
      error: 'digits-tiny/calibration.json: frontier[1].outcome.accuracy must be a number in [0, 1]',
    });
    expect(view.versions[0]?.quantization).toEqual({
      error: `1/quantize.json: ${MAX_REPORT_BYTES + 1} bytes, more than ${MAX_REPORT_BYTES}`,
    });
    expect(view.versions[0]?.precision).toEqual({ precision: 'fp32' });
    expect((await get('digits-mid-int8', admin())).status).toBe(200);
  });
});
