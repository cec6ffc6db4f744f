/** Edge agents: id + shown-once token (MQTT password on the cloud broker, bearer token on HTTP). */
import { CLOUD_EDGE_ID, FoglineError } from '@fogline/shared';
import {
  generateSecret,
  hashSecret,
  MAX_SECRET_LENGTH,
  verifyNoSubject,
  verifySecret,
} from '@fogline/shared/secrets';
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { byName, keepFirst, type StoreDatabase, type WallClock } from './database.ts';
import { devices, edges } from './schema.ts';
import type { EdgeRepository } from './store.ts';
import { checkName, isValidName } from './validation.ts';

export const EDGE_TOKEN_PREFIX = 'fge_';

const recordColumns = {
  id: edges.id,
  createdAt: edges.createdAt,
  revokedAt: edges.revokedAt,
  lastSeenAt: edges.lastSeenAt,
};

function notFound(id: string): FoglineError {
  return new FoglineError('NOT_FOUND', `edge '${id}' does not exist`, { details: { edgeId: id } });
}

export function createEdgeRepository(db: StoreDatabase, now: WallClock): EdgeRepository {
  return {
    async create(id: string) {
      checkName('edgeId', id);
      if (id === CLOUD_EDGE_ID) {
        throw new FoglineError(
          'INVALID_ARG',
          `edge id '${CLOUD_EDGE_ID}' is reserved for the cloud, which plays the edge of devices enrolled without one`,
          { details: { edgeId: id } },
        );
      }
      // On the cloud broker an edge logs in with its id as client id, as devices with no edge do.
      const [edgeless] = await db
        .select({ id: devices.id })
        .from(devices)
        .where(and(eq(devices.id, id), isNull(devices.edgeId), isNull(devices.revokedAt)));
      if (edgeless) {
        throw new FoglineError(
          'ALREADY_EXISTS',
          `'${id}' is the id of a device with no edge: edges share the cloud broker's client ids with such devices`,
          { details: { edgeId: id } },
        );
      }
      const token = generateSecret(EDGE_TOKEN_PREFIX);
      const values = {
        id,
        tokenHash: await hashSecret(token),
        createdAt: now(),
        revokedAt: null,
        lastSeenAt: null,
      };
      // Re-enrolling a revoked edge id (replacement hardware) issues a new token; an active id is taken.
      const [record] = await db
        .insert(edges)
        .values(values)
        .onConflictDoUpdate({ target: edges.id, set: values, setWhere: isNotNull(edges.revokedAt) })
        .returning(recordColumns);
      if (!record)
        throw new FoglineError('ALREADY_EXISTS', `edge '${id}' already exists`, { details: { edgeId: id } });
      return { record, token };
    },

    async verify(id: string, token: string) {
      if (!isValidName(id) || typeof token !== 'string' || token.length > MAX_SECRET_LENGTH) return null;
      const [row] = await db
        .select({ ...recordColumns, tokenHash: edges.tokenHash })
        .from(edges)
        .where(and(eq(edges.id, id), isNull(edges.revokedAt)));
      // An unknown id costs what a known one does: the time of the answer does not tell which exist.
      if (!row) return verifyNoSubject(token).then(() => null);
      const { tokenHash, ...record } = row;
      return (await verifySecret(token, tokenHash)) ? record : null;
    },

    async get(id: string) {
      checkName('edgeId', id);
      const [row] = await db.select(recordColumns).from(edges).where(eq(edges.id, id));
      if (!row) throw notFound(id);
      return row;
    },

    async list() {
      return db.select(recordColumns).from(edges).orderBy(byName(edges.id));
    },

    async listRevoked() {
      const rows = await db
        .select({ id: edges.id })
        .from(edges)
        .where(isNotNull(edges.revokedAt))
        .orderBy(byName(edges.id));
      return rows.map((row) => row.id);
    },

    async revoke(id: string) {
      checkName('edgeId', id);
      const [row] = await db
        .update(edges)
        .set({ revokedAt: keepFirst(edges.revokedAt, now()) })
        .where(eq(edges.id, id))
        .returning(recordColumns);
      if (!row) throw notFound(id);
      return row;
    },

    async markSeen(id: string, at?: Date) {
      checkName('edgeId', id);
      const seenAt = at ?? now();
      if (!(seenAt instanceof Date) || Number.isNaN(seenAt.getTime())) {
        throw new FoglineError('INVALID_ARG', 'at must be a valid Date', { details: { field: 'at' } });
      }
      const [row] = await db
        .update(edges)
        .set({ lastSeenAt: seenAt })
        .where(eq(edges.id, id))
        .returning(recordColumns);
      if (!row) throw notFound(id);
      return row;
    },
  };
}
