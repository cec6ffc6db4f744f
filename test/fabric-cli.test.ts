import { type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { verifySecret } from '@fogline/shared/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../cli/src/testing/run-fogline.ts';

let cloud: FabricCloud;
beforeAll(async () => {
  cloud = await startFabricCloud();
});
afterAll(() => cloud?.stop());

// Each command is a fresh Node process (tsx start-up); on a loaded two-core machine that adds up.
describe('fogline edges / fogline devices (processes)', { timeout: 120_000 }, () => {
  it('enrols an edge and a device, printing each token once, and lists and revokes them', async () => {
    const viaDataDir = ['--data-dir', cloud.dataDir];
    const edge = await fogline('edges', 'add', 'cli-edge', '--json', ...viaDataDir);
    expect(edge.code).toBe(0);
    const edgeOut = JSON.parse(edge.stdout) as { id: string; token: string };
    expect(edgeOut).toEqual({ id: 'cli-edge', token: expect.stringMatching(/^fge_/) });

    // The same target given by flags instead of the data dir.
    const viaFlags = ['--url', cloud.url, '--admin-token', cloud.ready.adminToken.token];
    const dev = await fogline('devices', 'add', 'cli-dev', '--edge', 'cli-edge', '--json', ...viaFlags);
    const devOut = JSON.parse(dev.stdout) as { id: string; token: string };
    expect(devOut).toEqual({ id: 'cli-dev', token: expect.stringMatching(/^fgd_/) });
    // Stored hashed: the store verifies the printed token, and no listing ever shows it.
    expect(await cloud.server.controlStore.devices.verify('cli-dev', devOut.token)).not.toBeNull();
    const [hash] = await cloud.server.controlStore.devices.listByEdge('cli-edge');
    expect(await verifySecret(devOut.token, hash!.tokenHash)).toBe(true);

    const list = await fogline('devices', 'list', '--edge', 'cli-edge', '--json', ...viaDataDir);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ id: 'cli-dev', edge: 'cli-edge', revokedAt: null }),
    ]);
    expect(list.stdout).not.toContain(devOut.token);

    const table = await fogline('edges', 'list', ...viaDataDir);
    expect(table.stdout).toMatch(/cli-edge\s+offline/);

    expect((await fogline('devices', 'revoke', 'cli-dev', ...viaDataDir)).stdout).toMatch(
      /revoked device 'cli-dev'/,
    );
    expect((await fogline('edges', 'revoke', 'cli-edge', ...viaDataDir)).stdout).toMatch(
      /revoked edge 'cli-edge'/,
    );
    expect(await cloud.server.controlStore.edges.verify('cli-edge', edgeOut.token)).toBeNull();
  });

  it('fails with a clear message and exit 1 on an unknown edge or a taken id', async () => {
    const unknown = await fogline(
      'devices',
      'add',
      'x',
      '--edge',
      'no-such-edge',
      '--data-dir',
      cloud.dataDir,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/edge 'no-such-edge' does not exist/);
    await cloud.admin.createEdge('taken-edge');
    const taken = await fogline('edges', 'add', 'taken-edge', '--data-dir', cloud.dataDir);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
  });

  it('enrols a device with no edge (--cloud), listed as "cloud"; it needs exactly one of --edge and --cloud', async () => {
    const dir = ['--data-dir', cloud.dataDir];
    const added = await fogline('devices', 'add', 'cli-direct', '--cloud', ...dir);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/created device 'cli-direct' with no edge/);
    const token = /token \(shown once\): (fgd_\S+)/.exec(added.stdout)?.[1];
    const record = await cloud.server.controlStore.devices.verify('cli-direct', token ?? '');
    expect(record).toMatchObject({ id: 'cli-direct', edgeId: null });

    const json = await fogline('devices', 'list', '--edge', 'cloud', '--json', ...dir);
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 'cli-direct', edge: null, standbyEdge: null, createdAt: expect.any(String), revokedAt: null },
    ]);
    const table = await fogline('devices', 'list', ...dir);
    expect(table.stdout).toMatch(/cli-direct\s+cloud\s/);

    await cloud.admin.createEdge('cli-edge-2');
    const both = await fogline('devices', 'add', 'cli-both', '--cloud', '--edge', 'cli-edge-2', ...dir);
    const neither = await fogline('devices', 'add', 'cli-neither', ...dir);
    for (const outcome of [both, neither]) {
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toMatch(/exactly one of --edge <edgeId> .* and --cloud/);
    }
    expect((await cloud.admin.listDevices()).map((d) => d.id)).not.toContain('cli-both');
    expect((await cloud.admin.listDevices()).map((d) => d.id)).not.toContain('cli-neither');

    const reserved = await fogline('edges', 'add', 'cloud', ...dir);
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toMatch(/edge id 'cloud' is reserved/);
  });

  it('enrols a device on an edge and a standby edge (--edge e1,e2): both edges list it', async () => {
    const dir = ['--data-dir', cloud.dataDir];
    await cloud.admin.createEdge('cli-site-a');
    await cloud.admin.createEdge('cli-site-b');
    const added = await fogline('devices', 'add', 'cli-two', '--edge', 'cli-site-a,cli-site-b', ...dir);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /created device 'cli-two' on edge 'cli-site-a' \(standby edge 'cli-site-b'\)/,
    );
    // Each edge's desired state carries it, so either edge's broker authenticates the device.
    for (const edge of ['cli-site-a', 'cli-site-b']) {
      const desired = await cloud.server.fabric.publisher.current(edge);
      expect(desired?.message.devices.map((d) => d.id)).toContain('cli-two');
      const listed = await fogline('devices', 'list', '--edge', edge, ...dir);
      expect(listed.stdout).toMatch(/cli-two\s+cli-site-a\s+cli-site-b\s/);
    }
    const three = await fogline('devices', 'add', 'cli-three', '--edge', 'cli-site-a,cli-site-b,x', ...dir);
    expect(three.code).toBe(1);
    expect(three.stderr).toMatch(/one edge, or two/);
  });
});
