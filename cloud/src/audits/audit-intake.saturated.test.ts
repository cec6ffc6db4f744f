/**
 * Audits under a saturated cloud, over real sockets: a real CloudServer (PGlite, auth on, the
 * committed digits-large) kept busy by 32 inference clients while an edge uploads 64 audits. Every
 * request is answered, with the outputs it gets without audits; the audits wait for the
 * model's idle moments (lowest priority) and are all stored once the load ends.
 */
import { encodeAuditUpload } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditUploadOf, digits, jsonInferBody } from '../testing/cloud-fixture.ts';
import { type FabricCloud, startFabricCloud } from '../testing/fabric-fixture.ts';

const AUDITS = 64;
const { images } = digits(AUDITS);
const image = (i: number) => images.slice((i % AUDITS) * 784, ((i % AUDITS) + 1) * 784);
let cloud: FabricCloud;
let key = '';
let edgeToken = '';

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-large'], cloudModel: 'digits-large' });
  key = (await cloud.admin.createKey('load', 100_000, 100_000)).key;
  edgeToken = (await cloud.admin.createEdge('edge-s')).token;
}, 60_000);
afterAll(() => cloud?.stop());

/** One inference of image i: the HTTP status and the logits. */
async function infer(i: number): Promise<{ status: number; logits: number[] }> {
  const res = await fetch(`${cloud.url}/v2/models/digits-large/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: jsonInferBody(image(i)),
  });
  const body = (await res.json()) as { outputs?: { data: number[] }[] };
  return { status: res.status, logits: body.outputs?.[0]?.data ?? [] };
}

const upload = () => auditUploadOf(AUDITS, image);

describe('audits under a saturated cloud', () => {
  it('never fail or change a request; they wait for the idle model and are all stored after', async () => {
    const reference = await Promise.all(Array.from({ length: AUDITS }, (_, i) => infer(i)));
    const until = Date.now() + 2_000;
    const answers: { i: number; status: number; logits: number[] }[] = [];
    const load = Promise.all(
      Array.from({ length: 32 }, async (_, k) => {
        for (let i = k; Date.now() < until; i += 32) answers.push({ i, ...(await infer(i)) });
      }),
    );
    // Two uploads of 32 (the most one upload holds) while the load runs.
    const batches = [0, 1].map((b) => ({ ...upload(), audits: upload().audits.slice(b * 32, b * 32 + 32) }));
    for (const batch of batches) {
      const res = await fetch(`${cloud.url}/v2/fogline/edges/edge-s/audits`, {
        method: 'POST',
        headers: { authorization: `Bearer edge-s:${edgeToken}`, 'content-type': 'application/json' },
        body: encodeAuditUpload(batch),
      });
      expect(await res.json()).toEqual({ accepted: 32, dropped: 0 });
    }
    await load;
    expect(answers.length).toBeGreaterThan(32);
    for (const a of answers) {
      expect(a.status).toBe(200);
      // The same answer as without audits (to float rounding: batches may be composed differently).
      const ref = reference[a.i % AUDITS]!.logits;
      expect(a.logits).toHaveLength(ref.length);
      expect(Math.max(...a.logits.map((v, c) => Math.abs(v - ref[c]!)))).toBeLessThan(1e-4);
    }
    await expect.poll(() => cloud.server.auditCounts?.stored, { timeout: 15_000 }).toBe(AUDITS);
    expect(cloud.server.auditCounts).toMatchObject({ accepted: AUDITS, failed: 0, dropped: 0 });
  }, 60_000);
});
