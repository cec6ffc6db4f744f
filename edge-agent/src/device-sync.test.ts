/**
 * DeviceSync with a real registry and a real disk cache: a state fetched over HTTP goes the same way
 * as one from the cloud broker, except that it is dropped when it brings nothing new (the version
 * already applied) or was overtaken by a broker message while the fetch was under way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceListCache } from './device-list-cache.ts';
import { DeviceRegistry } from './device-registry.ts';
import { DeviceSync, type ReportedState } from './device-sync.ts';

const hash = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const payload = (version: number, ids: string[]) =>
  new TextEncoder().encode(JSON.stringify({ version, devices: ids.map((id) => ({ id, tokenHash: hash })) }));

let dir: string;
let registry: DeviceRegistry;
let cache: DeviceListCache;
let sync: DeviceSync;
let revoked: string[];
let reports: ReportedState[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-sync-'));
  registry = new DeviceRegistry();
  cache = new DeviceListCache(dir);
  revoked = [];
  reports = [];
  sync = new DeviceSync({
    edgeId: 'edge-1',
    registry,
    cache,
    revoke: (ids) => revoked.push(...ids),
    report: (state) => reports.push(state),
    servedModels: () => ({ 'digits-mid': 1 }),
    logger: { info: () => {}, warn: () => {} },
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DeviceSync.receiveFetched', () => {
  it('applies, caches and reports a fetched state, and revokes the devices it drops', async () => {
    expect(await sync.receiveFetched(payload(1, ['dev-1', 'dev-2']), sync.applied)).toBe(true);
    expect(await sync.receiveFetched(payload(2, ['dev-1']), sync.applied)).toBe(true);
    expect(registry.version).toBe(2);
    expect(revoked).toEqual(['dev-2']);
    expect((await cache.load())?.devices.map((d) => d.id)).toEqual(['dev-1']);
    expect(reports.at(-1)).toMatchObject({ deviceListVersion: 2, devices: 1 });
  });

  it('ignores a fetched state with the version already applied', async () => {
    await sync.receive(payload(5, ['dev-1']));
    const before = reports.length;
    expect(await sync.receiveFetched(payload(5, []), sync.applied)).toBe(false);
    expect(registry.has('dev-1')).toBe(true);
    expect(reports).toHaveLength(before);
  });

  it('drops a fetch overtaken by a broker message that arrived while it was under way', async () => {
    await sync.receive(payload(1, ['dev-1']));
    const since = sync.applied; // the fetch is sent now...
    await sync.receive(payload(3, ['dev-1', 'dev-3'])); // ...the broker delivers a newer state...
    expect(await sync.receiveFetched(payload(2, ['dev-1']), since)).toBe(false); // ...then the answer
    expect(registry.version).toBe(3);
    expect(registry.has('dev-3')).toBe(true);
    expect(revoked).toEqual([]);
  });

  it('refuses an invalid fetched state as a whole, keeps the list and reports the error', async () => {
    await sync.receive(payload(1, ['dev-1']));
    const broken = new TextEncoder().encode('{"version": 2, "devices": [{"id": "dev-1"}]}');
    expect(await sync.receiveFetched(broken, sync.applied)).toBe(false);
    expect(registry.version).toBe(1);
    expect(reports.at(-1)?.lastError).toMatch(/tokenHash/);
  });
});

describe("a desired state's deployment block", () => {
  it('goes to the deployment hook as received, without holding up the device list', async () => {
    const received: unknown[] = [];
    const deploymentSync = new DeviceSync({
      edgeId: 'edge-1',
      registry,
      cache,
      revoke: () => {},
      report: (state) => reports.push(state),
      servedModels: () => ({}),
      // A download that never ends.
      deployment: {
        receive: (raw) => {
          received.push(raw);
          return new Promise<void>(() => {});
        },
        status: () => undefined,
      },
      logger: { info: () => {}, warn: () => {} },
    });
    const deployment = { id: 'd-1', device: { model: 'digits-tiny', version: 2 } };
    const withDeployment = (version: number) =>
      new TextEncoder().encode(JSON.stringify({ version, devices: [], deployment }));
    await deploymentSync.receive(withDeployment(1));
    await deploymentSync.receive(payload(2, ['dev-1']));
    expect(registry.version).toBe(2);
    // A state with no block goes to the hook too (undefined): it withdraws a deployment under way.
    expect(received).toEqual([deployment, undefined]);
  });
});
