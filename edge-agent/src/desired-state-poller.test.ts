/**
 * DesiredStatePoller against a cloud that accepts connections and never answers: what it sends, a
 * failure logged once (not at every poll), and a `stop()` that aborts the fetch under way and
 * schedules no other. The
 * fetching itself, against the real CloudServer, is in test/fabric-http-device-list.test.ts.
 */

import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudClient } from './cloud-client.ts';
import { DesiredStatePoller } from './desired-state-poller.ts';
import { DeviceListCache } from './device-list-cache.ts';
import { DeviceRegistry } from './device-registry.ts';
import { DeviceSync } from './device-sync.ts';
import { makeDataDir } from './testing/agent-fixture.ts';

const requests: IncomingMessage[] = [];
const hanging = createServer((req) => requests.push(req)); // never answers
let url: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await makeDataDir();
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
});
afterAll(async () => {
  hanging.closeAllConnections();
  await new Promise((r) => hanging.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(options: { intervalMs: number; timeoutMs: number }) {
  const registry = new DeviceRegistry();
  registry.replace({ version: 7, devices: [] });
  const warnings: string[] = [];
  const logger = { info: () => {}, warn: (line: string) => warnings.push(line) };
  const sync = new DeviceSync({
    edgeId: 'edge-1',
    registry,
    cache: new DeviceListCache(dataDir),
    revoke: () => {},
    report: () => {},
    servedModels: () => ({}),
    logger,
  });
  const client = new CloudClient({ baseUrl: url, token: 'fge_secret', edgeId: 'edge-1' });
  const poller = new DesiredStatePoller({
    client,
    sync,
    appliedVersion: () => registry.version,
    logger,
    ...options,
  });
  return { client, poller, warnings };
}

describe('DesiredStatePoller', () => {
  it('sends the edge credential and the applied version, and logs a failing cloud once, not at every poll', async () => {
    const { client, poller, warnings } = setup({ intervalMs: 50, timeoutMs: 100 });
    try {
      poller.start();
      await until(() => requests.length >= 3, 'three polls, each timing out');
      await poller.stop();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/could not fetch the device list from the cloud: .*timed out/);
      const first = requests[0]!;
      expect(first.url).toBe('/v2/fogline/edges/edge-1/desired');
      expect(first.headers.authorization).toBe('Bearer edge-1:fge_secret');
      expect(first.headers['if-none-match']).toBe('"7"');
    } finally {
      client.close();
    }
  });

  it('stop() aborts the fetch under way (whose timeout is far off) and no fetch follows', {
    timeout: 5000,
  }, async () => {
    const { client, poller, warnings } = setup({ intervalMs: 50, timeoutMs: 60_000 });
    try {
      const before = requests.length;
      poller.start();
      await until(() => requests.length === before + 1, 'the fetch to reach the cloud');
      await poller.stop(); // would wait 60 s without the abort
      await new Promise((r) => setTimeout(r, 200));
      expect(requests.length).toBe(before + 1);
      expect(warnings).toEqual([]); // a stop is no failure
    } finally {
      client.close();
    }
  });
});
