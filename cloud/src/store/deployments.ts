/** Model rollouts and their edges (deployment-records.ts); one deployment per edge at a time. */
import { CHANGE_ID_RULE, FoglineError, isChangeId, type ModelFile, type ModelRef } from '@fogline/shared';
import { and, asc, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { StoreDatabase, WallClock } from './database.ts';
import {
  DEPLOYMENT_STATUSES,
  type DeploymentEdgeRecord,
  type DeploymentEdgeState,
  type DeploymentRecord,
  type DeploymentRepository,
  type DeploymentStatus,
  type GateCounts,
} from './deployment-records.ts';
import { deploymentEdges, deployments } from './schema.ts';
import { checkName } from './validation.ts';

const MAX_LIST = 1_000;

type Row = typeof deployments.$inferSelect;
type EdgeRow = typeof deploymentEdges.$inferSelect;

function checkId(id: unknown): string {
  if (!isChangeId(id)) {
    throw new FoglineError('INVALID_ARG', `deployment id must be ${CHANGE_ID_RULE}`, {
      details: { field: 'id', value: id },
    });
  }
  return id;
}

function fromRow(row: Row): DeploymentRecord {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    sha256: row.sha256,
    bytes: row.bytes,
    edgesSelector: row.edgesSelector,
    canaryShare: row.canaryShare,
    canaryHealthyMs: row.canaryHealthyMs,
    canaryTimeoutMs: row.canaryTimeoutMs,
    gate: (row.gate as DeploymentRecord['gate']) ?? null,
    device: (row.device as unknown as ModelFile | null) ?? null,
    state: row.state,
    reason: row.reason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function edgeOf(row: EdgeRow): DeploymentEdgeRecord {
  return {
    deploymentId: row.deploymentId,
    edgeId: row.edgeId,
    stage: row.stage,
    state: row.state as DeploymentEdgeState,
    receivedBytes: row.receivedBytes,
    totalBytes: row.totalBytes,
    failure: row.failure,
    previous: (row.previous as unknown as ModelRef | null) ?? null,
    gate: (row.gate as unknown as GateCounts | null) ?? null,
    activeSince: row.activeSince,
    updatedAt: row.updatedAt,
  };
}

const json = <T extends object>(v: T | null | undefined) =>
  v === null || v === undefined ? null : ({ ...v } as Record<string, unknown>);

export function createDeploymentRepository(db: StoreDatabase, now: WallClock): DeploymentRepository {
  async function get(id: string): Promise<DeploymentRecord> {
    const [row] = await db
      .select()
      .from(deployments)
      .where(eq(deployments.id, checkId(id)));
    if (!row) throw new FoglineError('NOT_FOUND', `no deployment '${id}'`, { details: { id } });
    return fromRow(row);
  }

  return {
    async create(input) {
      const id = checkId(input.id);
      const { file } = input;
      checkName('model', file.model);
      if (!(input.canaryShare > 0 && input.canaryShare <= 1)) {
        throw new FoglineError('INVALID_ARG', 'canary share must be in (0, 1]');
      }
      const edgeIds = input.edges.map((e) => checkName('edge', e.edgeId));
      if (edgeIds.length === 0) throw new FoglineError('INVALID_ARG', 'a deployment needs at least one edge');
      const at = now();
      return db.transaction(async (tx) => {
        const [taken] = await tx
          .select({ id: deployments.id })
          .from(deployments)
          .where(eq(deployments.id, id));
        if (taken) throw new FoglineError('ALREADY_EXISTS', `deployment '${id}' exists`);
        const [row] = await tx
          .insert(deployments)
          .values({
            id,
            model: file.model,
            version: file.version,
            sha256: file.sha256,
            bytes: file.bytes,
            edgesSelector: input.edgesSelector === 'all' ? 'all' : [...input.edgesSelector],
            canaryShare: input.canaryShare,
            canaryHealthyMs: input.canaryHealthyMs,
            canaryTimeoutMs: input.canaryTimeoutMs,
            gate: json(input.gate),
            device: json(input.device),
            state: input.state,
            reason: input.reason,
            createdAt: at,
            updatedAt: at,
          })
          .returning();
        await tx
          .update(deploymentEdges)
          .set({ state: 'superseded', updatedAt: at })
          .where(and(inArray(deploymentEdges.edgeId, edgeIds), ne(deploymentEdges.deploymentId, id)));
        await tx.insert(deploymentEdges).values(
          input.edges.map((e) => ({
            deploymentId: id,
            edgeId: e.edgeId,
            stage: e.stage,
            state: 'pending',
            updatedAt: at,
          })),
        );
        return fromRow(row!);
      });
    },

    get,

    async list(query = {}) {
      const limit = query.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
        throw new FoglineError('INVALID_ARG', `limit must be an integer in [1, ${MAX_LIST}]`);
      }
      const model = query.model === undefined ? undefined : checkName('model', query.model);
      const rows = await db
        .select()
        .from(deployments)
        .where(model === undefined ? undefined : eq(deployments.model, model))
        .orderBy(desc(deployments.createdAt), desc(deployments.id))
        .limit(limit);
      return rows.map(fromRow);
    },

    async listRunning() {
      const rows = await db
        .select()
        .from(deployments)
        .where(inArray(deployments.state, ['canary', 'rolling']))
        .orderBy(asc(deployments.createdAt));
      return rows.map(fromRow);
    },

    async edges(id) {
      const rows = await db
        .select()
        .from(deploymentEdges)
        .where(eq(deploymentEdges.deploymentId, checkId(id)))
        .orderBy(asc(deploymentEdges.stage), sql`${deploymentEdges.edgeId} collate "C" asc`);
      return rows.map(edgeOf);
    },

    async setState(id, state: DeploymentStatus, reason) {
      if (!DEPLOYMENT_STATUSES.includes(state)) {
        throw new FoglineError('INVALID_ARG', `state must be one of ${DEPLOYMENT_STATUSES.join(', ')}`);
      }
      const [row] = await db
        .update(deployments)
        .set({ state, reason: reason?.slice(0, 2_000) ?? null, updatedAt: now() })
        .where(eq(deployments.id, checkId(id)))
        .returning();
      if (!row) throw new FoglineError('NOT_FOUND', `no deployment '${id}'`, { details: { id } });
      return fromRow(row);
    },

    async updateEdge(id, edgeId, update) {
      const set = {
        ...(update.state !== undefined && { state: update.state }),
        ...(update.receivedBytes !== undefined && { receivedBytes: update.receivedBytes }),
        ...(update.totalBytes !== undefined && { totalBytes: update.totalBytes }),
        ...(update.failure !== undefined && { failure: update.failure?.slice(0, 2_000) ?? null }),
        ...(update.previous !== undefined && { previous: json(update.previous) }),
        ...(update.gate !== undefined && { gate: json(update.gate) }),
        ...(update.activeSince !== undefined && { activeSince: update.activeSince }),
        updatedAt: now(),
      };
      const [row] = await db
        .update(deploymentEdges)
        .set(set)
        .where(
          and(
            eq(deploymentEdges.deploymentId, checkId(id)),
            eq(deploymentEdges.edgeId, checkName('edge', edgeId)),
          ),
        )
        .returning();
      if (!row) throw new FoglineError('NOT_FOUND', `edge '${edgeId}' is not in deployment '${id}'`);
      return edgeOf(row);
    },

    async currentFor(edgeId) {
      const [hit] = await db
        .select()
        .from(deploymentEdges)
        .innerJoin(deployments, eq(deployments.id, deploymentEdges.deploymentId))
        .where(
          and(eq(deploymentEdges.edgeId, checkName('edge', edgeId)), ne(deploymentEdges.state, 'superseded')),
        )
        .orderBy(desc(deployments.createdAt), desc(deployments.id))
        .limit(1);
      if (!hit) return null;
      return { deployment: fromRow(hit.deployments), edge: edgeOf(hit.deployment_edges) };
    },
  };
}
