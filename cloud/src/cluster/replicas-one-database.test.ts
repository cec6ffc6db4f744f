/**
 * Two replicas on one PostgreSQL database (two store connections to one scratch database): the
 * controller decides on one replica at a time and the other takes over when it stops or dies (its
 * lease expires); the deployments change one at a time across both, so a report or a tick that both
 * get moves a deployment once, and shadow pairs counted on both at once all count.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerService } from '../controller/controller-service.ts';
import { DeploymentService } from '../deployments/deployment-service.ts';
import type { EdgePresenceView } from '../fabric/edge-presence.ts';
import { openStore, type Store } from '../store/index.ts';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';

let scratch: ScratchDatabase;
let dir = '';
const stores: Store[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase();
  dir = await mkdtemp(join(tmpdir(), 'fogline-replicas-'));
  for (let i = 0; i < 2; i++) stores.push(await openStore({ dataDir: dir, databaseUrl: scratch.url }));
}, 60_000);
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await scratch?.drop();
  await rm(dir, { recursive: true, force: true });
});

const offline: EdgePresenceView = {
  online: false,
  status: 'offline',
  statusAt: null,
  lastSeenAt: null,
  reported: null,
  telemetry: null,
};

function controller(store: Store, holder: string) {
  return new ControllerService({
    store,
    presence: () => offline,
    publish: async () => {},
    settings: {
      enabled: true,
      intervalMs: 300, // the lease: 1 s
      cloudBudget: 0.25,
      window: { maxRecords: 1_000, maxAgeMs: 60_000 },
    },
    holder,
    clock: new ManualClock(1_000_000),
    log: () => {},
  });
}

describe('two replicas on one PostgreSQL database', () => {
  it('runs the controller on one replica; the other takes over once the first dies (its lease expires)', async () => {
    await stores[0]!.edges.create('ctl-edge');
    const a = controller(stores[0]!, 'replica-a');
    const b = controller(stores[1]!, 'replica-b');
    await a.tick();
    await b.tick();
    expect([a.leader, b.leader]).toEqual([true, false]);
    expect(a.control('ctl-edge').decision).toBeDefined();
    expect(b.control('ctl-edge').decision).toBeUndefined();
    // Replica a dies: it never ticks (renews) again and never releases the lease.
    await expect
      .poll(
        async () => {
          await b.tick();
          return b.leader;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);
    expect(b.control('ctl-edge').decision).toBeDefined();
    await b.stop();
    // A clean stop releases the lease at once: the next replica to tick leads.
    const c = controller(stores[0]!, 'replica-c');
    await c.tick();
    expect(c.leader).toBe(true);
    await c.stop();
  });

  it('moves a deployment once when both replicas get the same report, and counts every shadow pair', async () => {
    const published: string[][] = [[], []];
    const lines: string[] = [];
    const [a, b] = stores.map(
      (store, i) =>
        new DeploymentService({
          store,
          publish: async (edgeId) => published[i]!.push(edgeId),
          log: (line) => lines.push(line),
          leaseMs: 5_000,
        }),
    ) as [DeploymentService, DeploymentService];
    const edges = ['dep-a', 'dep-b', 'dep-c'];
    for (const id of edges) await stores[0]!.edges.create(id);
    for (const version of [1, 2]) {
      await stores[0]!.modelVersions.upsert({
        model: 'rep-mid',
        version,
        tier: 'edge',
        sha256: `${version}`.repeat(64),
        bytes: 1_000,
        status: 'staged',
      });
    }
    const gate = { minPaired: 1_000, maxDrop: 0.05, shadowMs: 600_000 };
    const { deployment: d } = await a.create({
      model: 'rep-mid',
      version: 2,
      edges,
      canary: 0.3,
      canaryHealthyMs: 0,
      canaryTimeoutMs: 600_000,
      gate,
      device: null,
    });
    published[0]!.length = 0;
    const active = { id: d.id, model: 'rep-mid', version: 2, state: 'active' as const };
    // The broker cluster hands the canary's report to every replica; both tick at once too.
    await Promise.all([a.report('dep-a', active), b.report('dep-a', active), a.tick(), b.tick()]);
    expect((await b.detail(d.id)).deployment.state).toBe('rolling');
    expect(lines.filter((l) => l.includes('rolling out to the rest'))).toHaveLength(1);
    expect([...published[0]!, ...published[1]!].sort()).toEqual(['dep-b', 'dep-c']);

    const pair = {
      edgeModel: 'rep-mid:2',
      shadowModel: 'rep-mid:1',
      edgeLabel: 3,
      shadowLabel: 3,
      referenceLabel: 3,
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).pair('dep-a', pair)));
    const canary = (await a.detail(d.id)).edges.find((e) => e.edgeId === 'dep-a');
    expect(canary?.gate?.paired).toBe(20);
    await Promise.all([a.stop(), b.stop()]);
  });
});
