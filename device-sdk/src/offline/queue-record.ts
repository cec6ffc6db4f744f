/**
 * The records of the durable queue's segment files (docs/device-sdk.md "Offline: the durable
 * store"): one JSON object per line. A `put` line holds a request (id, expiry, budget, the encoded
 * fabric request in base64); a `done` line says it was answered, expired or failed. A line read back
 * is checked field by field: one that does not parse, or lacks a field, is no record (skipped).
 */

export interface StoredRequest {
  readonly id: string;
  /** Wall-clock ms (Date.now) after which the request is dropped unanswered. */
  readonly expiresAt: number;
  /** Latency budget the edge gets for each attempt, ms (already encoded in `payload`). */
  readonly budgetMs: number;
  /** The encoded fabric request, sent as is. */
  readonly payload: Uint8Array;
}

/** Why a request left the queue: answered, expired, or its `put` line failed to sync (its call failed). */
export type DoneReason = 'answered' | 'expired' | 'failed';

export type QueueRecord = { t: 'done'; id: string } | { t: 'put'; request: StoredRequest };

/** The `put` line of `request`, newline included. */
export function putLine(request: StoredRequest): string {
  return `${JSON.stringify({
    t: 'put',
    id: request.id,
    exp: request.expiresAt,
    budget: request.budgetMs,
    p: Buffer.from(request.payload).toString('base64'),
  })}\n`;
}

/** The `done` line of request `id`, newline included. */
export function doneLine(id: string, why: DoneReason): string {
  return `${JSON.stringify({ t: 'done', id, why })}\n`;
}

/** One line of a segment file (no newline), checked field by field; undefined when it is not a valid record. */
export function parseLine(line: string): QueueRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id.length === 0) return undefined;
  if (r.t === 'done') return { t: 'done', id: r.id };
  if (r.t !== 'put' || typeof r.p !== 'string') return undefined;
  if (!Number.isFinite(r.exp) || !Number.isFinite(r.budget) || (r.budget as number) <= 0) return undefined;
  const payload = new Uint8Array(Buffer.from(r.p, 'base64'));
  if (payload.length === 0) return undefined;
  return {
    t: 'put',
    request: { id: r.id, expiresAt: r.exp as number, budgetMs: r.budget as number, payload },
  };
}
