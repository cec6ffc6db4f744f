/** Store contract, devices part: see store.contract.ts. */
import { CLOUD_EDGE_ID } from '@fogline/shared';
import { verifySecret } from '@fogline/shared/secrets';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';

import { devices } from './schema.ts';

export function describeDeviceContract(sut: StoreUnderTest): void {
  describe('devices', () => {
    it('creates a device under an edge; its token verifies and is stored only hashed', async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const id = unique('dev');
      const { record, token } = await sut.store.devices.create(id, edge.record.id);
      expect(token).toMatch(/^fgd_[A-Za-z0-9_-]{43}$/);
      expect(record).toMatchObject({ id, edgeId: edge.record.id, revokedAt: null });
      expect(await sut.store.devices.verify(id, token)).toEqual(record);
      expect(await sut.store.devices.verify(id, edge.token)).toBeNull();
      expect(await sut.store.devices.get(id)).toEqual(record);
      expect(await sut.store.devices.list()).toContainEqual(record);
      const [row] = await sut.connection.db.select().from(devices).where(sql`${devices.id} = ${id}`);
      expect(JSON.stringify(row)).not.toContain(token.slice(4));
    });

    it('needs an existing, active edge (NOT_FOUND otherwise)', async () => {
      await expect(sut.store.devices.create(unique('dev'), unique('no-edge'))).rejects.toEqual(
        rejectsWith('NOT_FOUND'),
      );
      const edge = await sut.store.edges.create(unique('edge'));
      await sut.store.edges.revoke(edge.record.id);
      await expect(sut.store.devices.create(unique('dev'), edge.record.id)).rejects.toEqual(
        rejectsWith('NOT_FOUND'),
      );
      await expect(sut.store.devices.create('bad id', edge.record.id)).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
    });

    it('device ids are unique across edges (ALREADY_EXISTS)', async () => {
      const e1 = await sut.store.edges.create(unique('edge'));
      const e2 = await sut.store.edges.create(unique('edge'));
      const id = unique('dev');
      const first = await sut.store.devices.create(id, e1.record.id);
      await expect(sut.store.devices.create(id, e1.record.id)).rejects.toEqual(rejectsWith('ALREADY_EXISTS'));
      await expect(sut.store.devices.create(id, e2.record.id)).rejects.toEqual(rejectsWith('ALREADY_EXISTS'));
      expect(await sut.store.devices.verify(id, first.token)).toEqual(first.record);
    });

    it("edges and devices with no edge share the cloud broker's client ids: neither may take the other's", async () => {
      const edge = await sut.store.edges.create(unique('twin'));
      await expect(sut.store.devices.create(edge.record.id, null)).rejects.toEqual(
        rejectsWith('ALREADY_EXISTS'),
      );
      // A device under an edge logs in on its edge's broker, not the cloud's: the id is free for it.
      const host = await sut.store.edges.create(unique('edge'));
      await sut.store.devices.create(edge.record.id, host.record.id);

      const device = await sut.store.devices.create(unique('twin'), null);
      await expect(sut.store.edges.create(device.record.id)).rejects.toEqual(rejectsWith('ALREADY_EXISTS'));
      // Once either is revoked, the id may go to the other kind.
      await sut.store.devices.revoke(device.record.id);
      await sut.store.edges.create(device.record.id);
      await sut.store.edges.revoke(edge.record.id);
      const other = await sut.store.edges.create(unique('twin'));
      await sut.store.edges.revoke(other.record.id);
      await sut.store.devices.create(other.record.id, null);
    });

    it('listByEdge gives the edge exactly the hashes that authenticate its active devices', async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const other = await sut.store.edges.create(unique('edge'));
      const a = await sut.store.devices.create(unique('dev-a'), edge.record.id);
      const b = await sut.store.devices.create(unique('dev-b'), edge.record.id);
      const gone = await sut.store.devices.create(unique('dev-c'), edge.record.id);
      await sut.store.devices.create(unique('dev-x'), other.record.id);
      await sut.store.devices.revoke(gone.record.id);

      const list = await sut.store.devices.listByEdge(edge.record.id);
      expect(list.map((d) => d.id)).toEqual([a.record.id, b.record.id]);
      // The edge authenticates offline from this list: each hash must accept its own token only.
      for (const [credential, token] of [
        [list[0], a.token],
        [list[1], b.token],
      ] as const) {
        expect(await verifySecret(token, credential?.tokenHash ?? '')).toBe(true);
      }
      expect(await verifySecret(b.token, list[0]?.tokenHash ?? '')).toBe(false);
      await expect(sut.store.devices.listByEdge(unique('no-edge'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
    });

    it("a device with a standby edge is in both edges' lists, until it is revoked", async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const standby = await sut.store.edges.create(unique('edge'));
      const id = unique('dev-two');
      const { record, token } = await sut.store.devices.create(id, edge.record.id, standby.record.id);
      expect(record).toMatchObject({ id, edgeId: edge.record.id, standbyEdgeId: standby.record.id });
      for (const e of [edge, standby]) {
        const [credential] = await sut.store.devices.listByEdge(e.record.id);
        expect(credential?.id).toBe(id);
        expect(await verifySecret(token, credential?.tokenHash ?? '')).toBe(true);
      }
      await sut.store.devices.revoke(id);
      expect(await sut.store.devices.listByEdge(standby.record.id)).toEqual([]);
      // A standby backs up an edge: not without one, not the edge itself, not an unknown edge.
      for (const [edgeId, standbyId, code] of [
        [null, standby.record.id, 'INVALID_ARG'],
        [edge.record.id, edge.record.id, 'INVALID_ARG'],
        [edge.record.id, unique('no-edge'), 'NOT_FOUND'],
      ] as const) {
        await expect(sut.store.devices.create(unique('dev'), edgeId, standbyId)).rejects.toEqual(
          rejectsWith(code),
        );
      }
    });

    it('revoking a device or its edge stops it authenticating', async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const d1 = await sut.store.devices.create(unique('dev'), edge.record.id);
      const d2 = await sut.store.devices.create(unique('dev'), edge.record.id);
      const revoked = await sut.store.devices.revoke(d1.record.id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await sut.store.devices.verify(d1.record.id, d1.token)).toBeNull();
      expect(await sut.store.devices.verify(d2.record.id, d2.token)).not.toBeNull();
      const revokedIds = await sut.store.devices.listRevoked();
      expect(revokedIds).toContain(d1.record.id);
      expect(revokedIds).not.toContain(d2.record.id);
      await sut.store.edges.revoke(edge.record.id);
      expect(await sut.store.devices.verify(d2.record.id, d2.token)).toBeNull();
      expect(await sut.store.devices.listByEdge(edge.record.id)).toEqual([]);
      await expect(sut.store.devices.revoke(unique('nope'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
    });

    it('enrols a device with no edge (served by the cloud): it verifies, lists with edge null, no edge lists it', async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const id = unique('dev-cloud');
      const { record, token } = await sut.store.devices.create(id, null);
      expect(record).toMatchObject({ id, edgeId: null, revokedAt: null });
      expect(await sut.store.devices.verify(id, token)).toEqual(record);
      expect(await sut.store.devices.get(id)).toEqual(record);
      expect(await sut.store.devices.list()).toContainEqual(record);
      expect((await sut.store.devices.listByEdge(edge.record.id)).map((d) => d.id)).not.toContain(id);
      // Revoking an unrelated edge does not touch it; revoking the device does.
      await sut.store.edges.revoke(edge.record.id);
      expect(await sut.store.devices.verify(id, token)).toEqual(record);
      await sut.store.devices.revoke(id);
      expect(await sut.store.devices.verify(id, token)).toBeNull();
      // 'cloud' is not an edge: a device is enrolled with no edge instead.
      await expect(sut.store.devices.create(unique('dev'), CLOUD_EDGE_ID)).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
    });

    it('a device moves between an edge and the cloud by re-enrolment', async () => {
      const edge = await sut.store.edges.create(unique('edge'));
      const id = unique('dev');
      const onEdge = await sut.store.devices.create(id, edge.record.id);
      await sut.store.devices.revoke(id);
      const direct = await sut.store.devices.create(id, null);
      expect(direct.record).toMatchObject({ id, edgeId: null, revokedAt: null });
      expect(await sut.store.devices.verify(id, onEdge.token)).toBeNull();
      expect((await sut.store.devices.listByEdge(edge.record.id)).map((d) => d.id)).not.toContain(id);
      await sut.store.devices.revoke(id);
      const back = await sut.store.devices.create(id, edge.record.id);
      expect(back.record.edgeId).toBe(edge.record.id);
      expect(await sut.store.devices.verify(id, direct.token)).toBeNull();
    });

    it('a revoked device id can be re-enrolled, under another edge, with a new token', async () => {
      const e1 = await sut.store.edges.create(unique('edge'));
      const e2 = await sut.store.edges.create(unique('edge'));
      const id = unique('dev');
      const old = await sut.store.devices.create(id, e1.record.id);
      await sut.store.devices.revoke(id);
      const moved = await sut.store.devices.create(id, e2.record.id);
      expect(moved.record).toMatchObject({ id, edgeId: e2.record.id, revokedAt: null });
      expect(await sut.store.devices.verify(id, old.token)).toBeNull();
      expect(await sut.store.devices.verify(id, moved.token)).toEqual(moved.record);
      expect((await sut.store.devices.listByEdge(e1.record.id)).map((d) => d.id)).not.toContain(id);
    });
  });
}
