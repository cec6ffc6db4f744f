/**
 * `GET /v2/fogline/edges/{edgeId}/desired` on a real CloudServer (PGlite, auth on): an edge reads its
 * own desired state with its own token — the same bytes and version as its retained MQTT message,
 * revalidated with ETag / If-None-Match — and nothing else: not another edge's, not with an API key,
 * a bad, bare or revoked token, not past its token bucket, and not without credentials under --no-auth.
 */
import { topics } from '@fogline/shared';
import { verifySecret } from '@fogline/shared/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredStateMessage as Desired } from '../../fabric/desired-state-publisher.ts';
import {
  type FabricCloud,
  mustConnect,
  nextMessage,
  startFabricCloud,
} from '../../testing/fabric-fixture.ts';

let cloud: FabricCloud;

beforeAll(async () => {
  // A small burst, so one edge can empty its bucket; the others stay far below it.
  cloud = await startFabricCloud({ edgeRate: { ratePerSec: 1, burst: 12 } });
});
afterAll(async () => {
  await cloud?.stop();
});

function getDesired(
  edgeId: string,
  authorization?: string,
  headers: Record<string, string> = {},
  url = cloud.url,
): Promise<Response> {
  return fetch(`${url}/v2/fogline/edges/${edgeId}/desired`, {
    headers: authorization === undefined ? headers : { ...headers, authorization },
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

describe('GET /v2/fogline/edges/{edgeId}/desired', () => {
  it('gives an edge its own device list (hashes, never tokens): the retained MQTT message, byte for byte, with its version as ETag', async () => {
    const edge = await cloud.admin.createEdge('own-edge');
    const device = await cloud.admin.createDevice('own-dev', 'own-edge');
    const auth = `Bearer own-edge:${edge.token}`;

    const response = await getDesired('own-edge', auth);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = await response.text();
    const body = JSON.parse(text) as Desired;
    expect(body.devices.map((d) => d.id)).toEqual(['own-dev']);
    expect(await verifySecret(device.token, body.devices[0]!.tokenHash)).toBe(true);
    expect(text).not.toContain(device.token);
    expect(text).not.toContain(edge.token);
    expect(response.headers.get('etag')).toBe(`"${body.version}"`);

    const mqtt = await mustConnect(cloud.mqttUrl, 'own-edge', edge.token);
    try {
      const retained = nextMessage(mqtt, topics.desired('own-edge'));
      await mqtt.subscribeAsync(topics.desired('own-edge'), { qos: 1 });
      expect((await retained).toString()).toBe(text);
    } finally {
      await mqtt.endAsync();
    }
  });

  it("carries an operator's pinned policy as the routing block, over HTTP and on the retained topic alike", async () => {
    const edge = await cloud.admin.createEdge('pin-edge');
    const auth = `Bearer pin-edge:${edge.token}`;
    expect(((await (await getDesired('pin-edge', auth)).json()) as Desired).routing).toBeUndefined();
    const policy = {
      device: { score: 'margin', threshold: 0.5 },
      edge: { score: 'margin', threshold: 0.6 },
      reason: 'maintenance',
    } as const;
    const view = await cloud.admin.pinPolicy('pin-edge', policy);
    expect(view).toMatchObject({ pinned: true, desired: { device: policy.device, edge: policy.edge } });
    const text = await (await getDesired('pin-edge', auth)).text();
    const body = JSON.parse(text) as Desired;
    expect(body.routing).toEqual({
      id: view.desired!.id,
      reason: 'maintenance',
      device: policy.device,
      edge: policy.edge,
    });
    const mqtt = await mustConnect(cloud.mqttUrl, 'pin-edge', edge.token);
    try {
      const retained = nextMessage(mqtt, topics.desired('pin-edge'));
      await mqtt.subscribeAsync(topics.desired('pin-edge'), { qos: 1 });
      expect((await retained).toString()).toBe(text);
    } finally {
      await mqtt.endAsync();
    }
    expect((await cloud.admin.policyChanges('pin-edge')).map((c) => [c.source, c.action])).toEqual([
      ['operator', 'pin'],
    ]);
  });

  it('answers 304 while If-None-Match names the current version, and 200 with a newer one after a change', async () => {
    const edge = await cloud.admin.createEdge('etag-edge');
    const auth = `Bearer etag-edge:${edge.token}`;
    const first = await getDesired('etag-edge', auth);
    const etag = first.headers.get('etag')!;
    const { version } = (await first.json()) as Desired;

    for (const ifNoneMatch of [etag, `W/${etag}`, `"1", ${etag}`, '*']) {
      const unchanged = await getDesired('etag-edge', auth, { 'if-none-match': ifNoneMatch });
      expect(unchanged.status).toBe(304);
      expect(unchanged.headers.get('etag')).toBe(etag);
      expect(await unchanged.text()).toBe('');
    }
    expect((await getDesired('etag-edge', auth, { 'if-none-match': '"1"' })).status).toBe(200);

    await cloud.admin.createDevice('etag-dev', 'etag-edge');
    const changed = await getDesired('etag-edge', auth, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    const next = (await changed.json()) as Desired;
    expect(next.version).toBeGreaterThan(version);
    expect(next.devices.map((d) => d.id)).toEqual(['etag-dev']);
    expect(changed.headers.get('etag')).toBe(`"${next.version}"`);
  });

  it("refuses another edge's list (403), API keys, bad, bare and missing credentials (401), and a revoked edge (401)", async () => {
    const one = await cloud.admin.createEdge('ref-edge-1');
    const two = await cloud.admin.createEdge('ref-edge-2');
    await cloud.admin.createDevice('ref-dev-2', 'ref-edge-2');

    const other = await getDesired('ref-edge-2', `Bearer ref-edge-1:${one.token}`);
    expect(other.status).toBe(403);
    expect(await errorOf(other)).toMatch(/only its own desired state/);

    const key = (await cloud.admin.createKey('ref-key', 10, 10)).key;
    for (const authorization of [
      `Bearer ${key}`,
      `Bearer ref-edge-2:${one.token}`, // another edge's token under this id
      `Bearer ref-edge-2:fge_not-the-token`,
      `Bearer ${two.token}`, // bare: the id is missing
      undefined,
    ]) {
      const refused = await getDesired('ref-edge-2', authorization);
      expect(refused.status, authorization).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect(await errorOf(refused)).not.toContain('scrypt$');
    }

    expect((await getDesired('ref-edge-2', `Bearer ref-edge-2:${two.token}`)).status).toBe(200);
    await cloud.admin.revokeEdge('ref-edge-2');
    expect((await getDesired('ref-edge-2', `Bearer ref-edge-2:${two.token}`)).status).toBe(401);
  });

  it("takes from the edge's own token bucket, as infer does (429 + Retry-After when empty)", async () => {
    const edge = await cloud.admin.createEdge('busy-edge');
    const auth = `Bearer busy-edge:${edge.token}`;
    for (let i = 0; i < 12; i++) expect((await getDesired('busy-edge', auth)).status).toBe(200);
    const limited = await getDesired('busy-edge', auth);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('still requires the edge credential with --no-auth (the list holds token hashes)', async () => {
    const open = await startFabricCloud({ auth: false });
    try {
      const edge = await open.admin.createEdge('open-edge');
      expect((await getDesired('open-edge', undefined, {}, open.url)).status).toBe(401);
      expect((await getDesired('open-edge', `Bearer open-edge:${edge.token}`, {}, open.url)).status).toBe(
        200,
      );
    } finally {
      await open.stop();
    }
  });
});
