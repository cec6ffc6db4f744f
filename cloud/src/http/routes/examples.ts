/**
 * Hard examples over the admin API (docs/cloud.md "Hard examples"), one page of records at a time:
 *
 *   GET /api/examples?since=<ISO time>&edge=<id>&after=<record id>&scan=<n>&low_score=<0..1>
 *     → { "examples": [ { id, source, edge, device, request_id, answered_at, created_at, label,
 *                         label_from, reasons, answer_tier, input } ],
 *         "scanned": n, "skipped_no_input": m, "next": <record id> | null }
 *
 * `fogline examples export` follows `next` until it is null and writes the dataset.
 */
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import {
  DEFAULT_LOW_SCORE,
  type HardExample,
  hardExamplePage,
  MAX_EXAMPLE_SCAN,
} from '../../audits/hard-examples.ts';
import type { CloudAppDeps } from '../app-deps.ts';

export function registerExampleRoutes(app: Hono, { audits }: CloudAppDeps): void {
  app.get('/api/examples', async (c) => {
    const { since, edge, after, scan, low_score: lowScore } = c.req.query();
    const sinceDate = since === undefined ? undefined : new Date(since);
    if (sinceDate !== undefined && Number.isNaN(sinceDate.getTime())) {
      throw new FoglineError(
        'INVALID_ARG',
        `since must be an ISO 8601 time, got '${String(since).slice(0, 40)}'`,
      );
    }
    const page = await hardExamplePage(audits.records, {
      ...(edge !== undefined && { edgeId: edge }),
      ...(sinceDate !== undefined && { since: sinceDate }),
      ...(after !== undefined && { afterId: Number(after) }),
      scan: scan === undefined ? MAX_EXAMPLE_SCAN : Number(scan),
      lowScore: lowScore === undefined ? DEFAULT_LOW_SCORE : Number(lowScore),
    });
    return c.json({
      examples: page.examples.map(exampleView),
      scanned: page.scanned,
      skipped_no_input: page.skippedNoInput,
      next: page.next,
    });
  });
}

/** What the admin API shows of a hard example. */
export interface ExampleView {
  id: number;
  source: 'audit' | 'feedback';
  edge: string;
  device: string;
  request_id: string;
  answered_at: string;
  created_at: string;
  label: number;
  label_from: 'feedback' | 'reference';
  reasons: string[];
  answer_tier: string;
  /** The stored input tensor (datatype, shape, base64 data, quantization): `realInput` reads it. */
  input: Record<string, unknown>;
}

function exampleView(e: HardExample): ExampleView {
  const r = e.record;
  return {
    id: r.id,
    source: r.source,
    edge: r.edgeId,
    device: r.deviceId,
    request_id: r.requestId,
    answered_at: r.answeredAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    label: e.label,
    label_from: e.labelFrom,
    reasons: [...e.reasons],
    answer_tier: r.answerTier,
    input: { ...r.input },
  };
}
