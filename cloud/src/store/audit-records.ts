/**
 * Field records from audits (docs/field-accuracy.md "Audits"): inserted in batches by the cloud's
 * audit intake, listed by edge and time, deleted by edge, and pruned to their bounds (count, age,
 * how long raw inputs are kept).
 */
import { FoglineError } from '@fogline/shared';
import { and, asc, desc, eq, gt, gte, isNotNull, lt, lte } from 'drizzle-orm';
import type { StoreDatabase, WallClock } from './database.ts';
import { auditRecords } from './schema.ts';
import type { AuditQuery, AuditRecord, AuditRecordRepository, NewAuditRecord, TierAnswer } from './store.ts';
import { checkName } from './validation.ts';

/** Most records one `list` returns. */
export const MAX_AUDIT_LIST = 10_000;

type Row = typeof auditRecords.$inferSelect;

function toRow(r: NewAuditRecord, createdAt: Date): typeof auditRecords.$inferInsert {
  return {
    source: r.source,
    edgeId: checkName('edge', r.edgeId),
    deviceId: checkName('device', r.deviceId),
    requestId: r.requestId,
    answeredAt: r.answeredAt,
    createdAt,
    rate: r.rate,
    answerTier: r.answerTier,
    deviceModel: r.device.model,
    deviceOutputs: [...r.device.outputs],
    deviceScore: r.device.score,
    deviceLabel: r.device.label,
    edgeModel: r.edge?.model ?? null,
    edgeOutputs: r.edge ? [...r.edge.outputs] : null,
    edgeScore: r.edge?.score ?? null,
    edgeLabel: r.edge?.label ?? null,
    cloudModel: r.cloud.model,
    cloudOutputs: [...r.cloud.outputs],
    cloudScore: r.cloud.score,
    cloudLabel: r.cloud.label,
    feedbackLabel: r.feedbackLabel ?? null,
    input: r.input === null ? null : { ...r.input },
    inputExpiresAt: r.input === null ? null : r.inputExpiresAt,
  };
}

function fromRow(row: Row): AuditRecord {
  const tier = (model: string, outputs: number[], score: number, label: number): TierAnswer => ({
    model,
    outputs,
    score,
    label,
  });
  const edge =
    row.edgeModel !== null && row.edgeOutputs !== null && row.edgeScore !== null && row.edgeLabel !== null
      ? tier(row.edgeModel, row.edgeOutputs, row.edgeScore, row.edgeLabel)
      : null;
  return {
    id: row.id,
    source: row.source,
    edgeId: row.edgeId,
    deviceId: row.deviceId,
    requestId: row.requestId,
    answeredAt: row.answeredAt,
    createdAt: row.createdAt,
    rate: row.rate,
    answerTier: row.answerTier,
    device: tier(row.deviceModel, row.deviceOutputs, row.deviceScore, row.deviceLabel),
    edge,
    cloud: tier(row.cloudModel, row.cloudOutputs, row.cloudScore, row.cloudLabel),
    feedbackLabel: row.feedbackLabel,
    input: row.input,
    inputExpiresAt: row.inputExpiresAt,
  };
}

export function createAuditRecordRepository(db: StoreDatabase, now: WallClock): AuditRecordRepository {
  return {
    async insert(records) {
      if (records.length === 0) return 0;
      const at = now();
      const rows = records.map((r) => toRow(r, at));
      const inserted = await db.insert(auditRecords).values(rows).returning({ id: auditRecords.id });
      return inserted.length;
    },

    async list(query: AuditQuery = {}) {
      const limit = query.limit ?? MAX_AUDIT_LIST;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIST) {
        throw new FoglineError('INVALID_ARG', `limit must be an integer in [1, ${MAX_AUDIT_LIST}]`);
      }
      const edgeId = query.edgeId === undefined ? undefined : checkName('edge', query.edgeId);
      const rows = await db
        .select()
        .from(auditRecords)
        .where(
          and(
            edgeId === undefined ? undefined : eq(auditRecords.edgeId, edgeId),
            query.since === undefined ? undefined : gte(auditRecords.createdAt, query.since),
            query.afterId === undefined ? undefined : gt(auditRecords.id, query.afterId),
          ),
        )
        .orderBy(asc(auditRecords.id))
        .limit(limit);
      return rows.map(fromRow);
    },

    async addFeedback({ edgeId, deviceId, requestId }, label) {
      if (!Number.isInteger(label) || label < 0) {
        throw new FoglineError('INVALID_ARG', `feedback label must be a class index, got ${label}`);
      }
      const updated = await db
        .update(auditRecords)
        .set({ feedbackLabel: label })
        .where(
          and(
            eq(auditRecords.edgeId, checkName('edge', edgeId)),
            eq(auditRecords.deviceId, checkName('device', deviceId)),
            eq(auditRecords.requestId, requestId),
          ),
        )
        .returning({ id: auditRecords.id });
      return updated.length;
    },

    async deleteByEdge(edgeId) {
      const id = checkName('edge', edgeId);
      const deleted = await db
        .delete(auditRecords)
        .where(eq(auditRecords.edgeId, id))
        .returning({ id: auditRecords.id });
      return deleted.length;
    },

    async prune({ maxRecords, maxAgeMs }) {
      if (!Number.isInteger(maxRecords) || maxRecords < 0 || !(maxAgeMs >= 0)) {
        throw new FoglineError('INVALID_ARG', 'maxRecords must be a non-negative integer, maxAgeMs ≥ 0');
      }
      const at = now();
      const old = await db
        .delete(auditRecords)
        .where(lt(auditRecords.createdAt, new Date(at.getTime() - maxAgeMs)))
        .returning({ id: auditRecords.id });
      let deleted = old.length;
      // The newest `maxRecords` stay: find the id of the first one past them.
      const [cut] = await db
        .select({ id: auditRecords.id })
        .from(auditRecords)
        .orderBy(desc(auditRecords.id))
        .offset(maxRecords)
        .limit(1);
      if (cut) {
        const over = await db
          .delete(auditRecords)
          .where(lte(auditRecords.id, cut.id))
          .returning({ id: auditRecords.id });
        deleted += over.length;
      }
      const dropped = await db
        .update(auditRecords)
        .set({ input: null, inputExpiresAt: null })
        .where(and(isNotNull(auditRecords.input), lte(auditRecords.inputExpiresAt, at)))
        .returning({ id: auditRecords.id });
      return { deleted, inputsDropped: dropped.length };
    },
  };
}
