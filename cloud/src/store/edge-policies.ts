/**
 * Each edge's routing as the cloud wants it, and the log of its changes (docs/field-accuracy.md
 * "The controller, wired"): the directive its desired state carries, pinned by an operator or not,
 * on the conservative fallback or not, the controller's last decision; every change appended with
 * old → new, action, why and the window's figures, in the same transaction as the row it changes.
 */
import { FoglineError, type ResolvedPolicy, readAuditRate, readRoutingDirective } from '@fogline/shared';
import { desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { StoreDatabase, WallClock } from './database.ts';
import { edgePolicies, policyChanges } from './schema.ts';
import type {
  EdgePolicyRecord,
  EdgePolicyRepository,
  PolicyChange,
  PolicyDecisionRecord,
  StagePolicies,
} from './store.ts';
import { checkName } from './validation.ts';

/** Most changes one `changes` call returns. */
export const MAX_POLICY_CHANGES = 1_000;

type Row = typeof edgePolicies.$inferSelect;
type ChangeRow = typeof policyChanges.$inferSelect;

/** Stored JSON back to its type; a row that no longer reads (hand-edited) counts as none. */
function directiveOf(raw: Record<string, unknown> | null): EdgePolicyRecord['directive'] {
  if (raw === null) return null;
  const reading = readRoutingDirective(raw);
  return reading.ok ? reading.directive : null;
}

function stagesOf(raw: Record<string, unknown> | null): StagePolicies | null {
  if (raw === null) return null;
  return { device: raw.device as ResolvedPolicy, edge: raw.edge as ResolvedPolicy };
}

function decisionOf(raw: Record<string, unknown> | null): PolicyDecisionRecord | null {
  if (raw === null) return null;
  return {
    action: String(raw.action),
    why: String(raw.why),
    figures: (raw.figures as Record<string, unknown> | null) ?? null,
    at: new Date(String(raw.at)),
  };
}

function fromRow(row: Row & { storedDirectiveId: string | null }): EdgePolicyRecord {
  const directive = directiveOf(row.directive);
  return {
    edgeId: row.edgeId,
    directive,
    directiveUnreadable: row.directive !== null && directive === null,
    storedDirectiveId: row.storedDirectiveId,
    pinned: row.pinned,
    conservative: row.conservative,
    auditRate: row.auditRate,
    lastChangeAt: row.lastChangeAt,
    lastDecision: decisionOf(row.lastDecision),
    updatedAt: row.updatedAt,
  };
}

function changeOf(row: ChangeRow): PolicyChange {
  return {
    id: row.id,
    edgeId: row.edgeId,
    at: row.at,
    source: row.source,
    action: row.action,
    from: stagesOf(row.fromPolicy),
    to: stagesOf(row.toPolicy),
    why: row.why,
    figures: row.figures,
  };
}

/** The operator's audit rate, or null (cleared); INVALID_ARG outside [0, 1]. */
function checkRate(rate: number | null): number | null {
  if (rate === null) return null;
  const read = readAuditRate(rate, 'audit rate');
  if (typeof read === 'string') throw new FoglineError('INVALID_ARG', read);
  return read;
}

/** The row's columns and its directive's `id` as the conditional write reads it (`->> 'id'`). */
const withStoredId = {
  ...getTableColumns(edgePolicies),
  storedDirectiveId: sql<string | null>`${edgePolicies.directive} ->> 'id'`,
};

const stagesJson = (s: StagePolicies | null) => (s === null ? null : { device: s.device, edge: s.edge });

export function createEdgePolicyRepository(db: StoreDatabase, now: WallClock): EdgePolicyRepository {
  return {
    async get(edgeId) {
      const id = checkName('edge', edgeId);
      const [row] = await db.select(withStoredId).from(edgePolicies).where(eq(edgePolicies.edgeId, id));
      return row ? fromRow(row) : null;
    },

    async list() {
      const rows = await db
        .select(withStoredId)
        .from(edgePolicies)
        .orderBy(sql`${edgePolicies.edgeId} collate "C" asc`);
      return rows.map(fromRow);
    },

    async change(edgeId, change, update, onlyIf) {
      const id = checkName('edge', edgeId);
      if (change.why.length > 2_000) throw new FoglineError('INVALID_ARG', 'why: at most 2000 chars');
      const at = now();
      return db.transaction(async (tx) => {
        const set = {
          ...(update.directive !== undefined && { directive: { ...update.directive } }),
          ...(update.pinned !== undefined && { pinned: update.pinned }),
          ...(update.conservative !== undefined && { conservative: update.conservative }),
          ...(update.auditRate !== undefined && { auditRate: checkRate(update.auditRate) }),
          ...(change.to !== null && { lastChangeAt: at }),
          updatedAt: at,
        };
        // The condition rides on the upsert itself (ON CONFLICT ... DO UPDATE ... WHERE, on the row
        // as it is now): an operator's pin committed after the caller read the row is never overwritten.
        const written = await tx
          .insert(edgePolicies)
          .values({ edgeId: id, ...set })
          .onConflictDoUpdate({
            target: edgePolicies.edgeId,
            set,
            ...(onlyIf && {
              setWhere: sql`${edgePolicies.pinned} = false
                and (${edgePolicies.directive} ->> 'id') is not distinct from ${onlyIf.directiveId}`,
            }),
          })
          .returning({ edgeId: edgePolicies.edgeId });
        if (written.length === 0) return null;
        const [row] = await tx
          .insert(policyChanges)
          .values({
            edgeId: id,
            at,
            source: change.source,
            action: change.action,
            fromPolicy: stagesJson(change.from),
            toPolicy: stagesJson(change.to),
            why: change.why,
            figures: change.figures === null ? null : { ...change.figures },
          })
          .returning();
        return changeOf(row!);
      });
    },

    async recordDecision(edgeId, decision) {
      const id = checkName('edge', edgeId);
      const at = now();
      const lastDecision = { ...decision, at: at.toISOString() };
      await db
        .insert(edgePolicies)
        .values({ edgeId: id, lastDecision, updatedAt: at })
        .onConflictDoUpdate({ target: edgePolicies.edgeId, set: { lastDecision, updatedAt: at } });
    },

    async changes(edgeId, limit = MAX_POLICY_CHANGES) {
      const id = checkName('edge', edgeId);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POLICY_CHANGES) {
        throw new FoglineError('INVALID_ARG', `limit must be an integer in [1, ${MAX_POLICY_CHANGES}]`);
      }
      const rows = await db
        .select()
        .from(policyChanges)
        .where(eq(policyChanges.edgeId, id))
        .orderBy(desc(policyChanges.id))
        .limit(limit);
      return rows.map(changeOf);
    },
  };
}
