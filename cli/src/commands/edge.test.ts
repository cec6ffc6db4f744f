/**
 * `fogline edge` as an operator runs it: flag validation, one JSON ready line on stdout, a retained
 * `online` on the cloud broker, `offline` after SIGTERM (graceful, exit 0) and after SIGKILL (the
 * last will published by the cloud broker).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topics } from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/fogline.js', import.meta.url));
const edgeId = 'edge-cli';
let broker: FoglineBroker;
let brokerUrl: string;
let watcher: MqttClient;
let dataDir: string;
const status: string[] = [];

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function readyLine(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready`)));
  });
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const agentArgs = () => [
  'edge',
  '--id',
  edgeId,
  '--cloud',
  'http://127.0.0.1:1',
  '--cloud-broker',
  brokerUrl,
  '--mqtt-port',
  '0',
  '--ws-port',
  '0',
  '--host',
  '127.0.0.1',
  '--data-dir',
  dataDir,
  '--workers',
  '1',
  '--quiet',
];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fogline-edge-cli-'));
  broker = await createBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    resolveIdentity: async (id, token) => {
      if (id === edgeId && token === 'edge-token') return { kind: 'edge', id };
      if (id === 'watcher' && token === 'w') return { kind: 'service', id };
      return null;
    },
  });
  brokerUrl = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  watcher = await mqtt.connectAsync(brokerUrl, { clientId: 'watcher', username: 'watcher', password: 'w' });
  watcher.on('message', (_t, payload) => status.push(payload.toString()));
  await watcher.subscribeAsync(topics.status(edgeId), { qos: 1 });
});

afterAll(async () => {
  await watcher?.endAsync();
  await broker?.close();
  await rm(dataDir, { recursive: true, force: true });
});

// Each case spawns the CLI (tsx compiles on start): slow on a loaded 2-core machine.
describe('fogline edge', { timeout: 90_000 }, () => {
  it('refuses bad flags with a clear message and exit code 1', async () => {
    const badId = await exitOf(
      run(['edge', '--id', 'no spaces', '--cloud', 'http://x:1', '--data-dir', dataDir]),
    );
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('--id must be 1-64 chars');
    const noToken = await exitOf(run(['edge', '--id', 'e1', '--cloud', 'http://x:1', '--data-dir', dataDir]));
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('edge token is required');
    const both = await exitOf(
      run([
        'edge',
        '--id',
        'e1',
        '--token',
        't',
        '--cloud',
        'http://x:1',
        '--data-dir',
        dataDir,
        '--broker',
        'mqtt://h:1',
        '--mqtt-port',
        '2',
      ]),
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('not with --broker');
    const base = ['edge', '--id', 'e1', '--token', 't', '--cloud', 'http://x:1', '--data-dir', dataDir];
    const [tooOften, withBroker, negativeFloor, filesUrl, tinyStore, badRate] = await Promise.all([
      exitOf(run([...base, '--device-list-poll-ms', '50'])),
      exitOf(run([...base, '--cloud-broker', 'mqtt://h:1', '--device-list-poll-ms', '1000'])),
      exitOf(run([...base, '--audit-floor-per-sec', '-1'])),
      exitOf(run([...base, '--device-files-port', '0', '--device-files-url', 'ftp://edge:1'])),
      exitOf(run([...base, '--late-corrections-max-bytes', '100'])),
      exitOf(run([...base, '--audit-rate', '1.5'])),
    ]);
    expect(badRate.code).toBe(1);
    expect(badRate.stderr).toContain('--audit-rate must be a number in 0..1, got "1.5"');
    expect(filesUrl.code).toBe(1);
    expect(filesUrl.stderr).toContain('--device-files-url must be');
    expect(tinyStore.code).toBe(1);
    expect(tinyStore.stderr).toContain('--late-corrections-max-bytes must be 0 (off) or an integer >= 4096');
    expect(negativeFloor.code).toBe(1);
    expect(negativeFloor.stderr).toContain('--audit-floor-per-sec must be');
    expect(tooOften.code).toBe(1);
    expect(tooOften.stderr).toContain('--device-list-poll-ms must be 0 (only at start) or at least 100');
    expect(withBroker.code).toBe(1);
    expect(withBroker.stderr).toContain('--device-list-poll-ms is for edges without --cloud-broker');
  });

  it('prints one ready line with the bound ports, goes online, and goes offline on SIGTERM with exit 0', async () => {
    const child = run([...agentArgs(), '--device-files-port', '0', '--device-files-host', '127.0.0.1'], {
      FOGLINE_EDGE_TOKEN: 'edge-token',
    });
    const exited = exitOf(child);
    const ready = await readyLine(child);
    expect(ready).toMatchObject({ event: 'ready', edgeId, model: 'digits-mid-int8:1', broker: 'embedded' });
    expect(ready.deviceFiles).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
    expect((ready.mqtt as { port: number }).port).toBeGreaterThan(0);
    expect((ready.ws as { port: number }).port).toBeGreaterThan(0);
    await until(() => status.at(-1) === 'online', 'online');
    child.kill('SIGTERM');
    const { code, stdout } = await exited;
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    await until(() => status.at(-1) === 'offline', 'offline after SIGTERM');
  });

  it('is reported offline by its last will when it dies without a goodbye', async () => {
    const child = run(agentArgs(), { FOGLINE_EDGE_TOKEN: 'edge-token' });
    const exited = exitOf(child);
    await readyLine(child);
    await until(() => status.at(-1) === 'online', 'online');
    child.kill('SIGKILL');
    await exited;
    await until(() => status.at(-1) === 'offline', 'offline from the last will');
  });
});
