/**
 * Audits on a real CloudServer (PGlite, auth on, the committed digits-large as the reference): an
 * edge uploads its audits with its own token, the cloud runs the large model on each input and
 * stores a record with every tier's answer; the admin API lists and deletes them by edge. Bad
 * uploads change nothing; a full queue drops and says so.
 */
import { type AuditUpload, encodeAuditUpload } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FabricCloud, startFabricCloud } from '../../testing/fabric-fixture.ts';

const data = loadDigits('test');
const image = (i: number) => data.images.slice(i * 784, (i + 1) * 784);

let cloud: FabricCloud;
let tokens: Record<string, string> = {};

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-large'], cloudModel: 'digits-large' });
  tokens = {};
  for (const edge of ['edge-a', 'edge-b', 'edge-c'])
    tokens[edge] = (await cloud.admin.createEdge(edge)).token;
});
afterAll(async () => {
  await cloud?.stop();
});

function upload(count: number, over: Partial<AuditUpload> = {}, offset = 0): AuditUpload {
  return {
    cloudModel: 'digits-large',
    keepInputs: true,
    audits: Array.from({ length: count }, (_, k) => ({
      deviceId: 'dev-1',
      audit: {
        id: `req-${offset + k}`,
        time: Date.parse('2030-01-01T00:00:00Z') + k,
        rate: 0.02,
        model: 'digits-tiny:1',
        input: { name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: image(offset + k) },
        deviceOutputs: Array.from({ length: 10 }, (_, c) => (c === 0 ? 1 : 0)),
        deviceScore: 0.3,
        tier: 'device',
      },
      edge: {
        model: 'digits-mid:1',
        outputs: Array.from({ length: 10 }, (_, c) => (c === 1 ? 5 : 0)),
        score: 0.9,
      },
    })),
    ...over,
  };
}

function post(edge: string, body: string, token = tokens[edge]): Promise<Response> {
  return fetch(`${cloud.url}/v2/fogline/edges/${edge}/audits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${edge}:${token}`, 'content-type': 'application/json' },
    body,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: records are read as the JSON the admin API returns
type RecordView = Record<string, any>;

async function records(query: string): Promise<RecordView[]> {
  const res = await fetch(`${cloud.url}/api/audits?${query}`, {
    headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { records: RecordView[] }).records;
}

/** Waits until every accepted audit is stored or failed. */
async function settled(): Promise<void> {
  const start = Date.now();
  const done = () => {
    const c = cloud.server.auditCounts;
    return c !== undefined && c.stored + c.failed === c.accepted;
  };
  while (!done()) {
    if (Date.now() - start > 10_000) throw new Error('audits still being processed');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('audit upload and records', () => {
  it('stores a record per audit with every tier answer, the large model reference, p and the input', async () => {
    const sent = upload(10);
    const res = await post('edge-a', encodeAuditUpload(sent));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 10, dropped: 0 });
    await settled();
    const stored = await records('edge=edge-a');
    expect(stored).toHaveLength(10);
    const right = stored.filter((r, k) => r.reference_label === data.labels[k]);
    expect(right.length).toBeGreaterThanOrEqual(9);
    const first = stored[0]!;
    expect(first).toMatchObject({
      source: 'audit',
      edge: 'edge-a',
      device: 'dev-1',
      request_id: 'req-0',
      rate: 0.02,
      answer_tier: 'device',
      answered_at: '2030-01-01T00:00:00.000Z',
      device_answer: { model: 'digits-tiny:1', score: 0.3, label: 0 },
      edge_answer: { model: 'digits-mid:1', score: 0.9, label: 1 },
      cloud_answer: { model: 'digits-large:1' },
      feedback_label: null,
    });
    expect(first.cloud_answer.outputs).toHaveLength(10);
    expect(first.input).toMatchObject({ datatype: 'FP32', shape: [1, 1, 28, 28] });
    const expires = Date.parse(first.input_expires_at) - Date.now();
    expect(expires).toBeGreaterThan(29 * 86_400_000);
    expect(cloud.server.auditCounts).toMatchObject({ stored: 10, failed: 0 });
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(metrics).toContain('fogline_audits_total{outcome="stored"} 10');
    expect(metrics).toContain('fogline_audits_queued 0');
  });

  it('stores no input for an edge that opted out, but still the reference', async () => {
    expect((await post('edge-b', encodeAuditUpload(upload(2, { keepInputs: false })))).status).toBe(202);
    await settled();
    const stored = await records('edge=edge-b');
    expect(stored.map((r) => [r.input, r.input_expires_at])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(stored.every((r) => r.cloud_answer.outputs.length === 10)).toBe(true);
  });

  it('refuses another edge, a wrong token, a malformed or unknown-model upload, and stores nothing', async () => {
    const before = (await records('')).length;
    const body = encodeAuditUpload(upload(1));
    expect((await post('edge-b', body, tokens['edge-a'])).status).toBe(401);
    const other = await fetch(`${cloud.url}/v2/fogline/edges/edge-b/audits`, {
      method: 'POST',
      headers: { authorization: `Bearer edge-a:${tokens['edge-a']}` },
      body,
    });
    expect(other.status).toBe(403);
    const bad = JSON.parse(body);
    bad.audits[0].audit.rate = 0;
    const refused = await post('edge-a', JSON.stringify(bad));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toContain('audits[0].audit: "rate"');
    expect((await post('edge-a', '{not json')).status).toBe(400);
    expect((await post('edge-a', encodeAuditUpload(upload(1, { cloudModel: 'nope' })))).status).toBe(404);
    await settled();
    expect(await records('')).toHaveLength(before);
  });

  it('lists by time, and deletes one edge records on request (admin only)', async () => {
    expect(
      await records(`edge=edge-a&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
    ).toEqual([]);
    const noAdmin = await fetch(`${cloud.url}/api/edges/edge-a/audits`, { method: 'DELETE' });
    expect(noAdmin.status).toBe(401);
    const res = await fetch(`${cloud.url}/api/edges/edge-a/audits`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
    });
    expect(await res.json()).toEqual({ deleted: 10 });
    expect(await records('edge=edge-a')).toEqual([]);
    expect(await records('edge=edge-b')).toHaveLength(2);
    const badSince = await fetch(`${cloud.url}/api/audits?since=yesterday`, {
      headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
    });
    expect(badSince.status).toBe(400);
  });
});

describe('a full audit queue', () => {
  it('accepts what fits and drops the rest, counted, telling the edge', async () => {
    const small = await startFabricCloud({
      models: ['digits-large'],
      cloudModel: 'digits-large',
      audits: {
        inputs: 'drop',
        inputTtlMs: 0,
        maxQueued: 3,
        pruneIntervalMs: 60_000,
        retention: { maxRecords: 10, maxAgeMs: 86_400_000 },
      },
    });
    try {
      const { token } = await small.admin.createEdge('edge-q');
      const res = await fetch(`${small.url}/v2/fogline/edges/edge-q/audits`, {
        method: 'POST',
        headers: { authorization: `Bearer edge-q:${token}` },
        body: encodeAuditUpload(upload(8)),
      });
      expect(await res.json()).toEqual({ accepted: 3, dropped: 5 });
      expect(small.server.auditCounts).toMatchObject({ accepted: 3, dropped: 5 });
    } finally {
      await small.stop();
    }
  });
});
