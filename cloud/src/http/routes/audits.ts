/**
 * Audits over HTTP (docs/cloud.md "Audits"):
 *
 *   POST   /v2/fogline/edges/{edgeId}/audits   Authorization: Bearer <edgeId>:<edge token>
 *          body: the audit upload (shared fabric audit-upload.ts) → 202 { "accepted": n, "dropped": m }
 *   GET    /api/audits?edge=<id>&since=<ISO time>&limit=<n>     (admin) → { "records": [...] }
 *   DELETE /api/edges/{edgeId}/audits                            (admin) → { "deleted": n }
 *
 * An upload is validated whole before anything is queued (400 with the first reason); an edge may
 * upload only its own audits (403). The admin token guards /api/* (app.ts).
 */
import { FoglineError, readAuditUpload } from '@fogline/shared';
import type { Hono } from 'hono';
import type { AuditDriftView } from '../../audits/audit-drift-check.ts';
import type { AuditIntake } from '../../audits/audit-intake.ts';
import type { AuditRecord, AuditRecordRepository } from '../../store/index.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';
import { remoteAddress } from '../remote-address.ts';
import { nodeIncoming } from '../request-view.ts';

export const EDGE_AUDITS_PATH = '/v2/fogline/edges/:edgeId/audits';

export interface AuditRouteDeps {
  /** The authenticated edge's id (edge-inference-guard.ts `authenticateEdge`). */
  authenticateEdge(authorization: string | undefined, source?: string): string | Promise<string>;
  readonly intake: AuditIntake;
  readonly records: AuditRecordRepository;
  /** The cloud's drift checks of one edge's audits (`GET /api/edges`), null before the first. */
  readonly drift?: (edgeId: string) => AuditDriftView | null;
}

export function registerAuditRoutes(app: Hono, { audits, maxBodyBytes }: CloudAppDeps): void {
  app.post(EDGE_AUDITS_PATH, async (c) => {
    const edgeId = await audits.authenticateEdge(
      c.req.header('authorization'),
      remoteAddress(nodeIncoming(c)),
    );
    const requested = c.req.param('edgeId');
    if (requested !== edgeId) {
      throw new FoglineError('PERMISSION_DENIED', `edge '${edgeId}' may upload only its own audits`);
    }
    const reading = readAuditUpload(await readJson(c, maxBodyBytes));
    if (!reading.ok) throw new FoglineError('INVALID_ARG', `audit upload: ${reading.reason}`);
    return c.json(audits.intake.accept(edgeId, reading.upload), 202);
  });

  app.get('/api/audits', async (c) => {
    const { edge, since, limit } = c.req.query();
    const sinceDate = since === undefined ? undefined : new Date(since);
    if (sinceDate !== undefined && Number.isNaN(sinceDate.getTime())) {
      throw new FoglineError(
        'INVALID_ARG',
        `since must be an ISO 8601 time, got '${String(since).slice(0, 40)}'`,
      );
    }
    const records = await audits.records.list({
      ...(edge !== undefined && { edgeId: edge }),
      ...(sinceDate !== undefined && { since: sinceDate }),
      ...(limit !== undefined && { limit: Number(limit) }),
    });
    return c.json({ records: records.map(recordView) });
  });

  app.delete('/api/edges/:edgeId/audits', async (c) =>
    c.json({ deleted: await audits.records.deleteByEdge(c.req.param('edgeId')) }),
  );
}

/** A record in the admin API: JSON field names, times in ISO 8601. */
function recordView(r: AuditRecord): Record<string, unknown> {
  return {
    id: r.id,
    source: r.source,
    edge: r.edgeId,
    device: r.deviceId,
    request_id: r.requestId,
    answered_at: r.answeredAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    rate: r.rate,
    answer_tier: r.answerTier,
    device_answer: r.device,
    edge_answer: r.edge,
    cloud_answer: r.cloud,
    reference_label: r.cloud.label,
    feedback_label: r.feedbackLabel,
    input: r.input,
    input_expires_at: r.inputExpiresAt?.toISOString() ?? null,
  };
}
