/** Store contract, deployments part: see store.contract.ts. */
import { describe, expect, it } from 'vitest';
import { rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';
import type { NewDeployment } from './store.ts';

const file = (model: string, version: number) => ({ model, version, sha256: 'a'.repeat(64), bytes: 1234 });

function deployment(over: Partial<NewDeployment> & { edges: NewDeployment['edges'] }): NewDeployment {
  return {
    id: unique('d'),
    file: file('digits-mid', 2),
    edgesSelector: over.edges.map((e) => e.edgeId),
    canaryShare: 0.1,
    canaryHealthyMs: 60_000,
    canaryTimeoutMs: 600_000,
    gate: null,
    device: null,
    state: 'canary',
    reason: null,
    ...over,
  };
}

export function describeDeploymentContract(sut: StoreUnderTest): void {
  describe('deployments', () => {
    it('keeps a deployment with its edges, canary first, and their progress', async () => {
      const [a, b] = [unique('edge'), unique('edge')];
      const gate = { shadowMs: 600_000, minPaired: 40, maxDrop: 0.05 };
      const device = file('digits-tiny', 3);
      const input = deployment({
        edges: [
          { edgeId: b, stage: 'rest' },
          { edgeId: a, stage: 'canary' },
        ],
        gate,
        device,
      });
      const created = await sut.store.deployments.create(input);
      expect(created).toMatchObject({
        id: input.id,
        model: 'digits-mid',
        version: 2,
        bytes: 1234,
        gate,
        device,
        state: 'canary',
        edgesSelector: [b, a],
      });
      expect(await sut.store.deployments.get(input.id)).toEqual(created);
      const edges = await sut.store.deployments.edges(input.id);
      expect(edges.map((e) => [e.edgeId, e.stage, e.state])).toEqual([
        [a, 'canary', 'pending'],
        [b, 'rest', 'pending'],
      ]);

      const since = new Date('2031-01-01T00:00:00Z');
      const counts = { paired: 3, newCorrect: 2, oldCorrect: 3, newOnlyCorrect: 0, oldOnlyCorrect: 1 };
      const updated = await sut.store.deployments.updateEdge(input.id, a, {
        state: 'active',
        receivedBytes: 1234,
        totalBytes: 1234,
        previous: { model: 'digits-mid', version: 1 },
        gate: counts,
        activeSince: since,
      });
      expect(updated).toMatchObject({
        state: 'active',
        receivedBytes: 1234,
        previous: { model: 'digits-mid', version: 1 },
        gate: counts,
        activeSince: since,
        failure: null,
      });
      const moved = await sut.store.deployments.setState(input.id, 'rolling', null);
      expect(moved.state).toBe('rolling');
      expect((await sut.store.deployments.listRunning()).map((d) => d.id)).toContain(input.id);
      await sut.store.deployments.setState(input.id, 'failed', 'canary a failed: checksum');
      expect(await sut.store.deployments.get(input.id)).toMatchObject({
        state: 'failed',
        reason: 'canary a failed: checksum',
      });
      expect((await sut.store.deployments.listRunning()).map((d) => d.id)).not.toContain(input.id);
    });

    it('gives each edge one current deployment: a newer one supersedes it there', async () => {
      const [a, b] = [unique('edge'), unique('edge')];
      const first = deployment({
        edges: [
          { edgeId: a, stage: 'canary' },
          { edgeId: b, stage: 'rest' },
        ],
      });
      await sut.store.deployments.create(first);
      expect((await sut.store.deployments.currentFor(a))?.deployment.id).toBe(first.id);
      const second = deployment({ file: file('digits-mid', 3), edges: [{ edgeId: a, stage: 'canary' }] });
      await sut.store.deployments.create(second);
      const current = await sut.store.deployments.currentFor(a);
      expect(current).toMatchObject({
        deployment: { id: second.id, version: 3 },
        edge: { state: 'pending' },
      });
      expect((await sut.store.deployments.currentFor(b))?.deployment.id).toBe(first.id);
      const old = await sut.store.deployments.edges(first.id);
      expect(old.find((e) => e.edgeId === a)?.state).toBe('superseded');
      expect(await sut.store.deployments.currentFor(unique('edge'))).toBeNull();
      const listed = await sut.store.deployments.list({ model: 'digits-mid' });
      expect(listed.findIndex((d) => d.id === second.id)).toBeLessThan(
        listed.findIndex((d) => d.id === first.id),
      );
    });

    it('refuses taken ids, unknown deployments, and malformed input', async () => {
      const input = deployment({ edges: [{ edgeId: unique('edge'), stage: 'canary' }] });
      await sut.store.deployments.create(input);
      await expect(sut.store.deployments.create(input)).rejects.toEqual(rejectsWith('ALREADY_EXISTS'));
      await expect(sut.store.deployments.get(unique('none'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
      await expect(sut.store.deployments.get('a b')).rejects.toEqual(rejectsWith('INVALID_ARG'));
      await expect(sut.store.deployments.create(deployment({ edges: [] }))).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
      await expect(
        sut.store.deployments.updateEdge(input.id, unique('edge'), { state: 'active' }),
      ).rejects.toEqual(rejectsWith('NOT_FOUND'));
      await expect(sut.store.deployments.list({ limit: 0 })).rejects.toEqual(rejectsWith('INVALID_ARG'));
    });
  });
}
