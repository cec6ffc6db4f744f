/**
 * `fogline cloud` and `fogline keys` as a user runs them: separate processes, real sockets.
 * The ready line, the admin token shown once (file mode 0600), key management through the admin API,
 * a taken port, --no-auth's warning, and SIGTERM finishing in-flight requests with exit code 0.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ModelStatistics } from '@fogline/cloud';
import { binaryInferRequest, digits, jsonInferBody, makeModelRepo, tempDir } from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FOGLINE = fileURLToPath(new URL('../cli/bin/fogline.js', import.meta.url));
const run = promisify(execFile);

interface Cloud {
  child: ChildProcess;
  ready: {
    event: string;
    http: { port: number; url: string };
    mqtt: { port: number | null };
    dashboard: string;
    playground: string | null;
  };
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Spawns `fogline cloud` and resolves with its ready line (or rejects with its stderr if it exits). */
function startCloudProcess(args: string[]): Promise<Cloud> {
  const child = spawn(process.execPath, [FOGLINE, 'cloud', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, ready: JSON.parse(line), stderr: () => stderr, exit }));
    void exit.then((code) => reject(new Error(`fogline cloud exited ${code}: ${stderr}`)));
  });
}

const fogline = (...args: string[]) => run(process.execPath, [FOGLINE, ...args]);

describe('fogline cloud / fogline keys (processes)', () => {
  const dataDir = tempDir('cli-data');
  const models = makeModelRepo(['digits-tiny', 'digits-large']);
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloudProcess([
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
      '--models',
      models,
    ]);
  });
  afterAll(() => {
    cloud?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints one ready line with the bound ports, and the admin token once (stored 0600)', () => {
    expect(cloud.ready).toMatchObject({
      event: 'ready',
      http: { port: expect.any(Number) },
      mqtt: { port: expect.any(Number) },
    });
    expect(cloud.ready.http.port).toBeGreaterThan(0);
    expect(cloud.ready.mqtt.port).toBeGreaterThan(0); // --mqtt-port 0: the bound port is reported
    // The dashboard on the same port; no playground without --demo.
    expect(cloud.ready.dashboard).toBe(`http://127.0.0.1:${cloud.ready.http.port}/`);
    expect(cloud.ready.playground).toBeNull();
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect(cloud.stderr()).toContain(token);
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    const state = JSON.parse(readFileSync(join(dataDir, 'cloud.json'), 'utf8'));
    expect(state.url).toBe(`http://127.0.0.1:${cloud.ready.http.port}`);
    expect(state.mqttPort).toBe(cloud.ready.mqtt.port);
  });

  it('creates, lists and revokes keys through the admin API', async () => {
    const created = JSON.parse(
      (
        await fogline(
          'keys',
          'create',
          'alice',
          '--rate',
          '50',
          '--burst',
          '10',
          '--json',
          '--data-dir',
          dataDir,
        )
      ).stdout,
    );
    expect(Object.keys(created)).toEqual(['name', 'key']);
    expect(created).toEqual({ name: 'alice', key: expect.stringMatching(/^fgl_/) });
    const infer = () =>
      fetch(`${cloud.ready.http.url}/v2/models/digits-tiny/infer`, {
        method: 'POST',
        body: jsonInferBody(digits(1).images),
        headers: { authorization: `Bearer ${created.key}` },
      });
    expect((await infer()).status).toBe(200);

    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const [listed, wrong] = await Promise.all([
      fogline('keys', 'list', '--json', '--url', cloud.ready.http.url, '--admin-token', token),
      fogline('keys', 'list', '--url', cloud.ready.http.url, '--admin-token', 'nope').catch((e) => e),
    ]);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ name: 'alice', ratePerSec: 50, burst: 10, revokedAt: null }),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/invalid admin token/);

    expect((await fogline('keys', 'revoke', 'alice', '--data-dir', dataDir)).stdout).toMatch(
      /revoked API key 'alice'/,
    );
    expect((await infer()).status).toBe(401);
  }, 90_000); // four CLI processes, each starting Node and its imports: slow on a loaded 2-core box

  it('refuses an id of "." or ".." in one line before any request (a URL would resolve it to another route)', async () => {
    const refused = await Promise.all([
      fogline('edges', 'revoke', '..', '--data-dir', dataDir).catch((e) => e),
      fogline('models', 'versions', '.', '--data-dir', dataDir).catch((e) => e),
    ]);
    expect(refused.map((r) => [r.code, r.stderr.trim()])).toEqual([
      [1, 'fogline: edge id ".." cannot be a segment of a URL path'],
      [1, 'fogline: model name "." cannot be a segment of a URL path'],
    ]);
  }, 60_000);

  it('refuses a taken port in one line naming the port and the flag; --no-auth warns loudly', async () => {
    const port = String(cloud.ready.http.port);
    const clash = await fogline(
      'cloud',
      '--host',
      '127.0.0.1',
      '--http-port',
      port,
      '--data-dir',
      tempDir('clash'),
      '--no-auth',
    ).catch((e) => e);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/WARNING: --no-auth/);
    const lines = clash.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(`fogline: port ${port} is already in use; choose another with --http-port`);
  });

  it('refuses a model repository that cannot be read before it touches the data dir', async () => {
    const dir = join(tempDir('no-models'), 'data');
    const missing = join(tempDir('no-models'), 'nothing-here');
    const failed = await fogline(
      'cloud',
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dir,
      '--models',
      missing,
    ).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n').at(-1)).toBe(
      `fogline: model repository ${missing} cannot be read`,
    );
    expect(() => statSync(dir)).toThrow(/ENOENT/);
  });

  it('on SIGTERM answers the requests in flight, then exits 0', async () => {
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const created = await fetch(`${cloud.ready.http.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'bob', ratePerSec: 1000, burst: 1000 }),
    });
    const { key } = (await created.json()) as { key: string };
    // 16 requests of 64 digits each on the large model: about a second of queued work.
    const url = cloud.ready.http.url;
    const stats = async () => {
      const res = await fetch(`${url}/v2/models/digits-large/stats`);
      const s = ((await res.json()) as { model_stats: ModelStatistics[] }).model_stats[0]!;
      return s.pending_requests + s.inference_stats.success.count;
    };
    const before = await stats();
    const { body, headers } = binaryInferRequest(digits(64).images);
    const requests = Array.from({ length: 16 }, () =>
      fetch(`${url}/v2/models/digits-large/infer`, {
        method: 'POST',
        body,
        headers: { ...headers, authorization: `Bearer ${key}` },
      }).then((r) => r.status),
    );
    // Signal once the server holds all of them (queued, running or answered).
    while ((await stats()) - before < 16) await new Promise((r) => setTimeout(r, 5));
    cloud.child.kill('SIGTERM');
    const statuses = await Promise.all(requests);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await cloud.exit).toBe(0);
  });
});
