/**
 * The dashboard and the playground in a real Chromium (playwright-core), on a `fogline up`-style
 * system (cli/src/up/fabric-system.ts: cloud with --demo, one edge agent, enrolled devices), with
 * real device SDK clients making traffic. Screenshots at 1280×800 go to test/artifacts/ (git-ignored).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudAdminClient } from '@fogline/cloud';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FabricSystem, startFabricSystem } from '../cli/src/up/fabric-system.ts';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };

let browser: Browser;
let devices: Device[] = [];

// The system starts while the file is collected: whether the deployments test runs depends on
// what the cloud answers (F8's API may not be merged yet).
const dataDir = mkdtempSync(join(tmpdir(), 'fogline-dashboard-'));
const system: FabricSystem = await startFabricSystem({
  dataDir,
  modelsDir: DEFAULT_MODELS_DIR,
  host: '127.0.0.1',
  httpPort: 0,
  mqttPort: 0,
  edgeMqttPort: 0,
  edgeId: 'edge-1',
  edgeModel: 'digits-mid',
  cloudModel: 'digits-large',
  devices: 2,
  devicePublishRate: 200,
  demo: true,
  say: () => {},
});
const url = system.cloud.url;

beforeAll(async () => {
  const chromiumLookup = inject('chromium');
  if ('missing' in chromiumLookup) throw new Error(chromiumLookup.missing);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumLookup.path,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await browser?.close();
  await system.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  page.on('pageerror', (err) => console.error('page error:', err.message));
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
}

/** Devices of the edge, always escalating: the edge (and, when unsure, the cloud) answers. */
async function traffic(seconds: number): Promise<number> {
  if (devices.length === 0) {
    devices = await Promise.all(
      system.devices.map((d) =>
        connectDevice({
          broker: system.edgeBrokerUrl,
          deviceId: d.id,
          token: d.token,
          edgeId: 'edge-1',
          model: join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx'),
          policy: { score: 'maxprob', threshold: 1 },
        }),
      ),
    );
  }
  const { images } = loadDigits('test');
  const until = Date.now() + seconds * 1000;
  let answered = 0;
  for (let i = 0; Date.now() < until; i++) {
    await Promise.all(
      devices.map(async (d, k) => {
        const at = ((i * devices.length + k) % 500) * DIGIT_PIXELS;
        const r = await d.infer(images.slice(at, at + DIGIT_PIXELS), { deadlineMs: 2000 });
        if (r.tier !== 'device') answered++;
      }),
    );
  }
  return answered;
}

describe('dashboard', () => {
  it('refuses a bad token with a clear message and shows nothing', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signIn(page, 'not-the-admin-token');
    await expect
      .poll(() => page.locator('#login-error').textContent())
      .toBe('That admin token is not valid.');
    expect(await page.locator('#view-fleet').isHidden()).toBe(true);
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(await page.locator('#fleet-table').textContent()).not.toContain('edge-1');
    await page.screenshot({ path: join(ARTIFACTS, 'login-refused.png') });
    await page.close();
  });

  it('signs in and lists the running edge as online', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signIn(page, await adminToken());
    const row = page.locator('tr.edge-row[data-edge="edge-1"]');
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.locator('.pill').first().textContent(), { timeout: 15_000 }).toBe('online');
    expect(await page.locator('#fleet-summary').textContent()).toMatch(/1 of 1 edges online · 2 devices/);
    // Active (reported by the edge) and desired (published by the cloud) model versions.
    const cells = await row.locator('td').allTextContents();
    expect(cells[4]).toBe('digits-mid:1');
    expect(cells[5]).toMatch(/digits-mid:1/);
    // The devices' reports the edge read, from its telemetry (a warning pill where some were dropped).
    await expect.poll(() => row.locator('td').nth(8).textContent(), { timeout: 15_000 }).toMatch(/^\d+ read/);
    // The token is gone from the page once signed in; the cookie is out of the scripts' reach.
    expect(await page.locator('#token').inputValue()).toBe('');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await row.click();
    await expect.poll(() => page.locator('tr.devices').textContent()).toContain('edge-1-dev-01');
    await page.screenshot({ path: join(ARTIFACTS, 'fleet.png') });
    // Search by device id: the edge stays, with only the matching device.
    await page.locator('#fleet-search').fill('dev-02');
    await page.locator('#fleet-search').blur();
    await row.click(); // closes the list, but a device match keeps it open
    expect(await page.locator('tr.devices').textContent()).toContain('edge-1-dev-02');
    expect(await page.locator('tr.devices').textContent()).not.toContain('edge-1-dev-01');
    await page.locator('#fleet-search').fill('no-such-thing');
    await expect.poll(() => page.locator('#fleet-table tbody').textContent()).toContain('no edges match');
    // Models: the versions the cloud serves.
    await page.locator('#nav a[data-view=models]').click();
    const large = page.locator('#view-models tr', { hasText: 'digits-large' });
    await expect.poll(() => large.textContent(), { timeout: 15_000 }).toMatch(/digits-large\s*1\s*READY/);
    await page.screenshot({ path: join(ARTIFACTS, 'models.png') });
    await page.locator('#logout').click();
    await page.locator('#login').waitFor();
    await page.goto(`${url}/#fleet`);
    await page.locator('#login').waitFor();
    expect(await page.locator('#view-fleet').isHidden()).toBe(true);
    await page.close();
  });

  it('shows the INT8 model’s quantization and the calibration frontier of the committed repository', {
    timeout: 60_000,
  }, async () => {
    const page = await newPage();
    await signIn(page, await adminToken());
    await page.locator('#nav a[data-view=models]').click();
    const int8 = page.locator('#models-quantization tr[data-model="digits-mid-int8"][data-version="1"]');
    await int8.waitFor({ timeout: 15_000 });
    expect(await int8.locator('.precision').textContent()).toMatch(/int8\s+static/);
    // From models/digits-mid-int8/1/quantize.json: same accuracy as fp32 on the test split.
    expect(await int8.textContent()).toMatch(/98\.80 % → 98\.80 %\s*on digits:test/);
    expect(await int8.locator('.drop').textContent()).toBe('0.00 pp');
    expect(
      await page.locator('#models-quantization tr[data-model="digits-large"] .precision').textContent(),
    ).toBe('fp32');
    // One report for the cascade calibrated together, carried by the device and the edge model.
    const block = page.locator('#models-calibration .calibration');
    expect(await block.count()).toBe(2); // digits-mid has its own (the fp32 edge cascade)
    const cascade = page.locator(
      '#models-calibration .calibration[data-models="digits-mid-int8 digits-tiny"]',
    );
    expect(await cascade.locator('.thresholds').textContent()).toMatch(
      /device margin ≥ 0\.3297;\s+edge maxprob ≥ 0\.5961/,
    );
    expect(await cascade.locator('.objective').textContent()).toBe(
      'accuracy ≥ always-cloud − 0.2 pp, fewest escalations',
    );
    expect(await cascade.locator('dd[data-split=evaluated] .cloud-share').textContent()).toBe('1.33 %');
    expect(await cascade.locator('.pill', { hasText: 'config holds them' }).count()).toBe(2);
    // The frontier, drawn in the page from the report's numbers: one point per frontier policy.
    const report = JSON.parse(
      readFileSync(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'calibration.json'), 'utf8'),
    );
    const points = await cascade.locator('.frontier svg polyline').getAttribute('points');
    expect(points!.split(' ')).toHaveLength(report.frontier.length);
    await cascade.scrollIntoViewIfNeeded();
    await page.evaluate(() => document.querySelector('#models-quantization')!.scrollIntoView());
    await page.screenshot({ path: join(ARTIFACTS, 'models-reports.png') });
    await page.close();
  });

  it('moves the live chart under traffic', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await signIn(page, await adminToken());
    await page.locator('#nav a[data-view=live]').click();
    await expect.poll(() => page.locator('#live-state').textContent(), { timeout: 15_000 }).toBe('live');
    const answered = await traffic(12);
    expect(answered).toBeGreaterThan(0);
    // Edge telemetry arrives every few seconds: the chart shows answers/s above zero.
    await expect
      .poll(async () => Number(await page.locator('#stat-rate .value').textContent()), { timeout: 30_000 })
      .toBeGreaterThan(0);
    const points = await page.locator('#chart-rate polyline[data-series=edge]').getAttribute('points');
    const ys = new Set(points!.split(' ').map((p) => p.split(',')[1]));
    expect(ys.size).toBeGreaterThan(1);
    // Field accuracy per tier, with the edge's drift state beside it.
    const field = page.locator('#field-accuracy tr[data-edge="edge-1"]');
    await field.waitFor({ timeout: 15_000 });
    expect(await field.locator('td.field-cell').count()).toBe(3);
    // A policy change (an operator's pin, at the thresholds in effect) becomes a mark on the charts.
    const admin = { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' };
    const readPolicy = async () =>
      ((await (await fetch(`${url}/api/edges/edge-1/policy`, { headers: admin })).json()) as PolicyView)
        .current;
    await expect.poll(readPolicy, { timeout: 30_000 }).not.toBeNull();
    const policy = (await readPolicy())!;
    const put = await fetch(`${url}/api/edges/edge-1/policy`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({
        device: policy.device ?? { score: 'maxprob', threshold: 0.9 },
        edge: policy.edge,
        reason: 'dashboard test',
      }),
    });
    expect(put.status).toBe(200);
    const mark = page.locator('#chart-rate g.mark title').first();
    await expect.poll(() => mark.count(), { timeout: 30_000 }).toBe(1);
    expect(await mark.textContent()).toMatch(
      /edge-1 · device .* → .*, edge .* → .* · pin: dashboard test \(operator\)/,
    );
    expect(await page.locator('#policy-changes li').first().textContent()).toContain('dashboard test');
    await page.screenshot({ path: join(ARTIFACTS, 'live.png') });
    await fetch(`${url}/api/edges/edge-1/policy/pin`, { method: 'DELETE', headers: admin });
    // The devices' audit rate in effect, with why: the edge's own, then an operator's.
    const auditRate = field.locator('.audit-rate');
    await expect.poll(() => auditRate.getAttribute('data-source'), { timeout: 30_000 }).toBe('edge');
    const rate = await fetch(`${url}/api/edges/edge-1/policy/audit-rate`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ rate: 0.25, reason: 'dashboard test' }),
    });
    expect(rate.status).toBe(200);
    await expect.poll(() => auditRate.textContent(), { timeout: 30_000 }).toBe('25 % (operator)');
    await fetch(`${url}/api/edges/edge-1/policy/audit-rate`, { method: 'DELETE', headers: admin });
    await page.close();
  });
});

interface PolicyView {
  current: {
    device: { score: string; threshold: number } | null;
    edge: { score: string; threshold: number };
  } | null;
}

describe('deployments', () => {
  it('starts a deployment from the Models page; it reaches the edge; rollback', {
    timeout: 180_000,
  }, async () => {
    const admin = new CloudAdminClient({ url, adminToken: await adminToken() });
    const dir = join(DEFAULT_MODELS_DIR, 'digits-mid');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    // The version the edge runs (its rollback target) and a new one, both in the model store.
    for (const version of [1, 2]) {
      await admin.pushModel({ name: 'digits-mid', file: join(dir, '1', 'model.onnx'), version, config });
    }
    const page = await newPage();
    await signIn(page, await adminToken());
    await page.locator('#nav a[data-view=models]').click();
    await page.locator('#models-store tr', { hasText: 'digits-mid' }).first().waitFor({ timeout: 15_000 });
    const form = page.locator('#deploy-form');
    await form.locator('[name=model]').fill('digits-mid');
    await form.locator('[name=version]').fill('2');
    await form.locator('[name=edges]').fill('edge-1');
    await form.locator('[name=canary]').fill('100');
    await form.locator('[name=healthy]').fill('0');
    await form.locator('[name=gate]').selectOption('off');
    // The canary timeout, in minutes: refused outside (0, 7 days] before anything is sent.
    await form.locator('[name=timeout]').fill('0');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => page.locator('#deploy-message').textContent(), { timeout: 15_000 })
      .toBe('Refused: canary timeout must be more than 0 and at most 10080 min (7 days)');
    expect(await admin.deployments()).toEqual([]);
    await form.locator('[name=timeout]').fill('5');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => page.locator('#deploy-message').textContent(), { timeout: 15_000 })
      .toMatch(/^Started /);
    const [started] = await admin.deployments();
    expect(started?.canaryTimeoutMs).toBe(300_000);
    const timeout = page.locator('.deployment').first().locator('.canary-timeout');
    await expect.poll(() => timeout.textContent(), { timeout: 15_000 }).toBe('timeout 5 min');
    // The edge downloads, verifies, warms and activates it; the page refreshes every 3 s.
    const edgeRow = () => page.locator('.deployment').first().locator('tr[data-edge="edge-1"]');
    await expect
      .poll(() => edgeRow().locator('.pill').getAttribute('data-state'), {
        timeout: 120_000,
        interval: 2000,
      })
      .toBe('active');
    expect(await edgeRow().locator('[role=progressbar]').getAttribute('aria-valuenow')).toBe('100');
    await page.screenshot({ path: join(ARTIFACTS, 'deployments.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'deployments-full.png'), fullPage: true });
    await page.locator('.deployment').first().locator('button[data-rollback]').click();
    await expect
      .poll(() => page.locator('#deploy-message').textContent(), { timeout: 15_000 })
      .toMatch(/^Rolled back /);
    await expect
      .poll(() => page.locator('.deployment').nth(1).locator('.pill').first().getAttribute('data-state'), {
        timeout: 15_000,
      })
      .toBe('rolled_back');
    await page.close();
  });
});

describe('playground', () => {
  it('answers a clear digit on the device and a scribble from the cloud', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await page.goto(`${url}/playground`);
    await page.locator('body[data-ready=true]').waitFor({ timeout: 30_000 });
    const { images, labels } = loadDigits('test');
    // A clear test digit, pasted onto the pad: the model in the page answers it.
    let local: { tier: string; label: string } | undefined;
    for (let i = 0; i < 10 && local?.tier !== 'device'; i++) {
      const pixels = Array.from(images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS));
      local = await classify(page, () =>
        page.evaluate(
          (px) => (window as unknown as { playground: { paint(p: number[]): void } }).playground.paint(px),
          pixels,
        ),
      );
      if (local.tier === 'device') expect(local.label).toBe(String(labels[i]));
    }
    expect(local?.tier).toBe('device');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-device.png') });
    // An ambiguous scribble drawn with the mouse: the tiny model is unsure, the cloud answers.
    await page.locator('#clear').click();
    const box = (await page.locator('#pad').boundingBox())!;
    const scribble = await classify(
      page,
      async () => {
        await page.mouse.move(box.x + 60, box.y + 60);
        await page.mouse.down();
        for (const [x, y] of [
          [220, 80],
          [70, 140],
          [210, 200],
          [90, 230],
          [150, 60],
          [140, 240],
        ]) {
          await page.mouse.move(box.x + x!, box.y + y!, { steps: 8 });
        }
        await page.mouse.up();
      },
      false,
    );
    expect(scribble.tier).toBe('cloud');
    expect(await page.locator('#lat-upper').textContent()).toMatch(/ms$/);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-cloud.png') });
    await page.close();
  });
});

/**
 * Runs `act`, which draws, and waits for the answer: a stroke drawn with the pointer is classified
 * when the pointer lifts; pasted pixels (`click`) by the Classify button.
 */
async function classify(
  page: Page,
  act: () => Promise<unknown>,
  click = true,
): Promise<{ tier: string; label: string }> {
  const before = await page.locator('#history li').count();
  await act();
  if (click) await page.locator('#classify').click();
  await page.locator(`#history li:nth-child(${before + 1})`).waitFor({ timeout: 15_000 });
  const result = page.locator('#result');
  return {
    tier: (await result.getAttribute('data-tier'))!,
    label: (await result.getAttribute('data-label'))!,
  };
}

async function adminToken(): Promise<string> {
  const { readAdminToken } = await import('@fogline/cloud');
  return readAdminToken(system.cloud.options.dataDir);
}
