/**
 * Devices: id + shown-once token, attached to one edge that authenticates them from a synced list,
 * or to none (edge null): the cloud broker then authenticates them with `verify`. A device of an
 * edge may also have a standby edge, whose list carries it too (docs/scale-out.md "Failover").
 */
import { CLOUD_EDGE_ID, FoglineError } from '@fogline/shared';
import {
  generateSecret,
  hashSecret,
  MAX_SECRET_LENGTH,
  verifyNoSubject,
  verifySecret,
} from '@fogline/shared/secrets';
import { and, eq, isNotNull, isNull, or } from 'drizzle-orm';
import { byName, keepFirst, type StoreDatabase, type WallClock } from './database.ts';
import { devices, edges } from './schema.ts';
import type { DeviceRepository } from './store.ts';
import { checkName, isValidName } from './validation.ts';

export const DEVICE_TOKEN_PREFIX = 'fgd_';

const recordColumns = {
  id: devices.id,
  edgeId: devices.edgeId,
  standbyEdgeId: devices.standbyEdgeId,
  createdAt: devices.createdAt,
  revokedAt: devices.revokedAt,
};

function notFound(id: string): FoglineError {
  return new FoglineError('NOT_FOUND', `device '${id}' does not exist`, { details: { deviceId: id } });
}

export function createDeviceRepository(db: StoreDatabase, now: WallClock): DeviceRepository {
  async function edgeState(edgeId: string): Promise<'active' | 'revoked' | 'missing'> {
    const [edge] = await db.select({ revokedAt: edges.revokedAt }).from(edges).where(eq(edges.id, edgeId));
    return !edge ? 'missing' : edge.revokedAt ? 'revoked' : 'active';
  }

  return {
    async create(id: string, edgeId: string | null, standbyEdgeId: string | null = null) {
      checkName('deviceId', id);
      if (edgeId !== null) checkName('edgeId', edgeId);
      if (standbyEdgeId !== null) {
        checkName('standbyEdgeId', standbyEdgeId);
        if (edgeId === null || standbyEdgeId === edgeId) {
          throw new FoglineError(
            'INVALID_ARG',
            "a standby edge backs up the device's edge: give another edge first",
            {
              details: { standbyEdgeId },
            },
          );
        }
      }
      if (edgeId === CLOUD_EDGE_ID) {
        throw new FoglineError(
          'INVALID_ARG',
          `'${CLOUD_EDGE_ID}' is not an edge: enrol the device with no edge to have the cloud serve it`,
          { details: { edgeId } },
        );
      }
      // On the cloud broker a device with no edge logs in with its id as client id, as edges do.
      if (edgeId === null && (await edgeState(id)) === 'active') {
        throw new FoglineError(
          'ALREADY_EXISTS',
          `'${id}' is an edge's id: a device with no edge shares the cloud broker's client ids with the edges`,
          { details: { deviceId: id } },
        );
      }
      // Edges are never deleted, so checking first cannot race with the foreign key.
      for (const edge of [edgeId, standbyEdgeId]) {
        if (edge !== null && (await edgeState(edge)) !== 'active') {
          throw new FoglineError('NOT_FOUND', `edge '${edge}' does not exist or is revoked`, {
            details: { edgeId: edge },
          });
        }
      }
      const token = generateSecret(DEVICE_TOKEN_PREFIX);
      const tokenHash = await hashSecret(token);
      const values = { id, edgeId, standbyEdgeId, tokenHash, createdAt: now(), revokedAt: null };
      // A revoked device id may be re-enrolled (possibly under another edge); an active one is taken.
      const [record] = await db
        .insert(devices)
        .values(values)
        .onConflictDoUpdate({ target: devices.id, set: values, setWhere: isNotNull(devices.revokedAt) })
        .returning(recordColumns);
      if (!record) {
        throw new FoglineError('ALREADY_EXISTS', `device '${id}' already exists`, {
          details: { deviceId: id },
        });
      }
      return { record, token };
    },

    async verify(id: string, token: string) {
      if (!isValidName(id) || typeof token !== 'string' || token.length > MAX_SECRET_LENGTH) return null;
      const [row] = await db
        .select({ ...recordColumns, tokenHash: devices.tokenHash })
        .from(devices)
        // An edgeless device has no edge row: its `edges.revoked_at` reads null.
        .leftJoin(edges, eq(edges.id, devices.edgeId))
        .where(and(eq(devices.id, id), isNull(devices.revokedAt), isNull(edges.revokedAt)));
      // An unknown id costs what a known one does: the time of the answer does not tell which exist.
      if (!row) return verifyNoSubject(token).then(() => null);
      const { tokenHash, ...record } = row;
      return (await verifySecret(token, tokenHash)) ? record : null;
    },

    async get(id: string) {
      checkName('deviceId', id);
      const [row] = await db.select(recordColumns).from(devices).where(eq(devices.id, id));
      if (!row) throw notFound(id);
      return row;
    },

    async list() {
      return db.select(recordColumns).from(devices).orderBy(byName(devices.id));
    },

    async listRevoked() {
      const rows = await db
        .select({ id: devices.id })
        .from(devices)
        .where(isNotNull(devices.revokedAt))
        .orderBy(byName(devices.id));
      return rows.map((row) => row.id);
    },

    async listByEdge(edgeId: string) {
      checkName('edgeId', edgeId);
      const state = await edgeState(edgeId);
      if (state === 'missing') {
        throw new FoglineError('NOT_FOUND', `edge '${edgeId}' does not exist`, { details: { edgeId } });
      }
      if (state === 'revoked') return [];
      return db
        .select({ id: devices.id, tokenHash: devices.tokenHash })
        .from(devices)
        .where(
          and(or(eq(devices.edgeId, edgeId), eq(devices.standbyEdgeId, edgeId)), isNull(devices.revokedAt)),
        )
        .orderBy(byName(devices.id));
    },

    async revoke(id: string) {
      checkName('deviceId', id);
      const [row] = await db
        .update(devices)
        .set({ revokedAt: keepFirst(devices.revokedAt, now()) })
        .where(eq(devices.id, id))
        .returning(recordColumns);
      if (!row) throw notFound(id);
      return row;
    },
  };
}
