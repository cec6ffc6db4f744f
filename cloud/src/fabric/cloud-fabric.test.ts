/**
 * The cloud's fabric side over real sockets: the admin API for edges and devices, the desired state
 * each edge receives (and how it changes), the cloud broker's refusals with real MQTT.js clients,
 * edge presence from status and telemetry, and edge tokens on HTTP infer.
 */

import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { topics } from '@fogline/shared';
import { verifySecret } from '@fogline/shared/secrets';
import { grantedQos } from '@fogline/shared/testing';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { binaryInferRequest, digits } from '../testing/cloud-fixture.ts';
import {
  closed,
  connectMqtt,
  eventually,
  type FabricCloud,
  mustConnect,
  nextMessage,
  startFabricCloud,
} from '../testing/fabric-fixture.ts';
import type { DesiredStateMessage as Desired } from './desired-state-publisher.ts';

let cloud: FabricCloud;
const clients: MqttClient[] = [];
const track = (c: MqttClient) => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cloud = await startFabricCloud({
    models: ['digits-tiny', 'digits-mid'],
    edgeRate: { ratePerSec: 1, burst: 3 },
  });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await cloud?.stop();
});

/** The payload the cloud broker keeps retained on `topic` (what a subscriber would get first), if any. */
async function retainedOf(topic: string): Promise<string | undefined> {
  // Aedes's persistence, which its typings leave out: the retained store every subscriber reads.
  const { persistence } = cloud.server.fabric.broker.aedes as unknown as {
    persistence: { createRetainedStream(pattern: string): AsyncIterable<{ payload: Buffer }> };
  };
  for await (const packet of persistence.createRetainedStream(topic)) return packet.payload.toString();
  return undefined;
}

/** Subscribes an edge to its desired topic and returns the retained state. */
async function desiredOf(client: MqttClient, edgeId: string): Promise<Desired> {
  const message = nextMessage(client, topics.desired(edgeId));
  await client.subscribeAsync(topics.desired(edgeId), { qos: 1 });
  return JSON.parse((await message).toString()) as Desired;
}

describe('admin API for edges and devices', () => {
  it('creates, lists and revokes identities; tokens are shown once', async () => {
    const edge = await cloud.admin.createEdge('adm-edge');
    expect(edge).toMatchObject({ id: 'adm-edge', revokedAt: null, online: false });
    expect(edge.token).toMatch(/^fge_/);
    const device = await cloud.admin.createDevice('adm-dev', 'adm-edge');
    expect(device).toMatchObject({ id: 'adm-dev', edge: 'adm-edge' });
    expect(device.token).toMatch(/^fgd_/);

    const edges = await cloud.admin.listEdges();
    expect(edges.find((e) => e.id === 'adm-edge')).not.toHaveProperty('token');
    expect(await cloud.admin.listDevices('adm-edge')).toEqual([
      { id: 'adm-dev', edge: 'adm-edge', standbyEdge: null, createdAt: device.createdAt, revokedAt: null },
    ]);
    await expect(cloud.admin.createEdge('adm-edge')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(cloud.admin.createDevice('d', 'no-such-edge')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(cloud.admin.createEdge('bad/id')).rejects.toMatchObject({ code: 'INVALID_ARG' });
    await expect(cloud.admin.listDevices('no-such-edge')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    expect((await cloud.admin.revokeDevice('adm-dev')).revokedAt).not.toBeNull();
    expect((await cloud.admin.revokeEdge('adm-edge')).revokedAt).not.toBeNull();
  });

  it('refuses the admin API without the admin token', async () => {
    for (const [method, path] of [
      ['GET', '/api/edges'],
      ['POST', '/api/edges'],
      ['DELETE', '/api/devices/x'],
    ] as const) {
      const res = await fetch(`${cloud.url}${path}`, {
        method,
        body: method === 'POST' ? '{"id":"x"}' : undefined,
      });
      expect(res.status).toBe(401);
    }
    const missing = await fetch(`${cloud.url}/api/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
      body: JSON.stringify({ id: 'dev-x', edge: 42 }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: '"edge" must be a string' });
  });
});

describe('device-list sync', () => {
  it('publishes each edge its device list (ids and hashes, never tokens), newer on every change', async () => {
    const { token } = await cloud.admin.createEdge('sync-edge');
    const edge = track(await mustConnect(cloud.mqttUrl, 'sync-edge', token));
    const first = await desiredOf(edge, 'sync-edge');
    expect(first).toEqual({ version: expect.any(Number), devices: [], models: { 'digits-mid': 1 } });

    const next = nextMessage(edge, topics.desired('sync-edge'));
    const dev = await cloud.admin.createDevice('sync-dev', 'sync-edge');
    const second = JSON.parse((await next).toString()) as Desired;
    expect(second.version).toBeGreaterThan(first.version);
    expect(second.devices.map((d) => d.id)).toEqual(['sync-dev']);
    expect(await verifySecret(dev.token, second.devices[0]!.tokenHash)).toBe(true);
    expect(JSON.stringify(second)).not.toContain(dev.token);

    const third = nextMessage(edge, topics.desired('sync-edge'));
    await cloud.admin.revokeDevice('sync-dev');
    const afterRevoke = JSON.parse((await third).toString()) as Desired;
    expect(afterRevoke.devices).toEqual([]);
    expect(afterRevoke.version).toBeGreaterThan(second.version);

    // Once the edge reports the models it serves, its desired state names only those.
    const narrowed = nextMessage(edge, topics.desired('sync-edge'));
    const reported = {
      edgeId: 'sync-edge',
      deviceListVersion: afterRevoke.version,
      devices: 0,
      models: { other: 3 },
    };
    await edge.publishAsync(topics.reported('sync-edge'), JSON.stringify(reported), { qos: 1, retain: true });
    expect((JSON.parse((await narrowed).toString()) as Desired).models).toEqual({});
  });
});

describe('cloud broker', () => {
  let a: { token: string };
  let b: { token: string };
  let edgeA: MqttClient;
  beforeAll(async () => {
    a = await cloud.admin.createEdge('acl-a');
    b = await cloud.admin.createEdge('acl-b');
    edgeA = track(await mustConnect(cloud.mqttUrl, 'acl-a', a.token));
  });

  it("refuses an edge's publish to another edge's topic (acknowledged, never delivered)", async () => {
    const edgeB = track(await mustConnect(cloud.mqttUrl, 'acl-b', b.token));
    const before = cloud.server.fabric.broker.stats().publishRefused.topic;
    await edgeA.publishAsync(topics.status('acl-b'), 'offline', { qos: 1 });
    await edgeA.publishAsync(topics.desired('acl-b'), '{"version":1,"devices":[]}', { qos: 1 });
    expect(cloud.server.fabric.broker.stats().publishRefused.topic).toBe(before + 2);
    expect((await cloud.admin.getEdge('acl-b')).online).toBe(true);
    edgeB.end(true);
  });

  it('refuses `#`, `+` and other edges in SUBSCRIBE (SUBACK 0x80), and keeps the connection', async () => {
    for (const filter of [
      '#',
      'fogline/v1/edge/+/desired',
      topics.desired('acl-b'),
      topics.status('acl-a'),
    ]) {
      expect(await grantedQos(edgeA, filter)).toBe(128);
    }
    expect(await grantedQos(edgeA, topics.desired('acl-a'))).toBe(1);
    expect(edgeA.connected).toBe(true);
  });

  it("refuses a bad token, another edge's token on a connected edge's id, and a device token; the connected edge stays", async () => {
    expect(await connectMqtt(cloud.mqttUrl, 'acl-b', 'fge_wrong')).toMatchObject({ ok: false, code: 4 });
    expect(await connectMqtt(cloud.mqttUrl, 'acl-a', b.token)).toMatchObject({ ok: false, code: 4 });
    const dev = await cloud.admin.createDevice('acl-dev', 'acl-a');
    expect(await connectMqtt(cloud.mqttUrl, 'acl-dev', dev.token)).toMatchObject({ ok: false, code: 4 });
    expect(edgeA.connected).toBe(true);
  });

  it('disconnects a revoked edge at once and refuses its token from then on; no status of it is kept', async () => {
    const r = await cloud.admin.createEdge('acl-revoked');
    const will = {
      topic: topics.status('acl-revoked'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
    const edge = track(await mustConnect(cloud.mqttUrl, 'acl-revoked', r.token, { will }));
    await edge.publishAsync(topics.status('acl-revoked'), 'online', { qos: 1, retain: true });
    await eventually(() => cloud.server.fabric.presence.view('acl-revoked').status === 'online');
    const gone = closed(edge);
    await cloud.admin.revokeEdge('acl-revoked');
    await gone;
    expect(await connectMqtt(cloud.mqttUrl, 'acl-revoked', r.token)).toMatchObject({ ok: false, code: 4 });
    // Neither its retained `online` nor its will's `offline` is left on the broker or in presence.
    await eventually(async () => (await retainedOf(topics.status('acl-revoked'))) === undefined);
    await new Promise((r) => setTimeout(r, 300)); // time for a will to come, were it sent
    expect(await retainedOf(topics.status('acl-revoked'))).toBeUndefined();
    expect(cloud.server.fabric.presence.view('acl-revoked')).toMatchObject({ online: false, status: null });
  });

  it('serves MQTT over WebSocket at /mqtt on the HTTP port', async () => {
    const ws = track(await mustConnect(cloud.wsUrl, 'acl-b', b.token));
    expect((await desiredOf(ws, 'acl-b')).devices).toEqual([]);
  });
});

describe('edge presence', () => {
  it('shows an edge online with its last telemetry, and offline after its will', async () => {
    const { token } = await cloud.admin.createEdge('seen-edge');
    const will = {
      topic: topics.status('seen-edge'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
    const edge = track(await mustConnect(cloud.mqttUrl, 'seen-edge', token, { will }));
    await edge.publishAsync(topics.status('seen-edge'), 'online', { qos: 1, retain: true });
    const telemetry = {
      edgeId: 'seen-edge',
      at: new Date().toISOString(),
      breaker: 'closed',
      devices: 3,
      counts: { received: 10, edge: 7, cloud: 3 },
      latencyMs: { edge: { count: 10, sumMs: 25 } },
      drift: {
        model: 'digits-tiny:1',
        alarm: true,
        psi: 1.3,
        windows: 4,
        alarms: 1,
        since: '2026-01-02T03:04:05.000Z',
        extra: 1,
      },
      routing: {
        edge: { score: 'margin', threshold: 0.4 },
        device: { score: 'margin', threshold: 7 },
        pinned: false,
        directive: 'ctl-1',
        baseline: { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 },
      },
      reports: {
        accepted: { histogram: 40, audit: 7, feedback: 1 },
        malformed: 0,
        unknownKind: 0,
        dropped: 12,
      },
      bogus: 'x'.repeat(10_000),
    };
    await edge.publishAsync(topics.telemetry('seen-edge'), JSON.stringify(telemetry), { qos: 1 });
    await eventually(async () => (await cloud.admin.getEdge('seen-edge')).telemetry !== null);
    const view = await cloud.admin.getEdge('seen-edge');
    expect(view).toMatchObject({
      online: true,
      lastSeenAt: expect.any(String),
      telemetry: {
        breaker: 'closed',
        devices: 3,
        counts: { received: 10, edge: 7, cloud: 3 },
        meanLatencyMs: { edge: 2.5 },
        drift: {
          model: 'digits-tiny:1',
          alarm: true,
          psi: 1.3,
          windows: 4,
          alarms: 1,
          since: '2026-01-02T03:04:05.000Z',
        },
        routing: {
          edge: { score: 'margin', threshold: 0.4 },
          pinned: false,
          directive: 'ctl-1',
          baseline: { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 },
        },
        reports: { accepted: { histogram: 40, audit: 7, feedback: 1 }, dropped: 12 },
      },
    });
    // An out-of-range stage is left out, not passed on.
    expect(view.telemetry?.routing).not.toHaveProperty('device');
    expect(view.telemetry).not.toHaveProperty('bogus');
    expect(view.telemetry?.drift).not.toHaveProperty('extra');

    edge.stream.destroy(); // no DISCONNECT: the will says offline
    await eventually(async () => !(await cloud.admin.getEdge('seen-edge')).online);
    expect((await cloud.admin.listEdges()).find((e) => e.id === 'seen-edge')?.lastSeenAt).not.toBeNull();
  });
});

describe('edge tokens on HTTP infer', () => {
  const infer = (authorization?: string) => {
    const { body, headers } = binaryInferRequest(digits(1).images);
    return fetch(`${cloud.url}/v2/models/digits-tiny/infer`, {
      method: 'POST',
      body,
      headers: authorization ? { ...headers, authorization } : headers,
    });
  };

  it('accepts `Bearer <edgeId>:<token>`, with a token bucket per edge; refuses other forms and revoked edges', async () => {
    const one = await cloud.admin.createEdge('http-edge');
    const two = await cloud.admin.createEdge('http-edge-2');
    // burst 3 at 1/s (see beforeAll): three pass, the fourth is limited; the other edge has its own bucket.
    for (let i = 0; i < 3; i++) expect((await infer(`Bearer http-edge:${one.token}`)).status).toBe(200);
    const limited = await infer(`Bearer http-edge:${one.token}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await infer(`Bearer http-edge-2:${two.token}`)).status).toBe(200);

    const bare = await infer(`Bearer ${one.token}`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: string }).error).toMatch(/Bearer <edgeId>:<edge token>/);
    expect((await infer(`Bearer http-edge-2:${one.token}`)).status).toBe(401);
    expect((await infer()).status).toBe(401);

    await cloud.admin.revokeEdge('http-edge-2');
    expect((await infer(`Bearer http-edge-2:${two.token}`)).status).toBe(401);
  });
});

describe('restart', () => {
  it('keeps identities and publishes a newer device-list version after a restart', async () => {
    const dir = await startFabricCloud({ models: ['digits-tiny'] });
    const { token } = await dir.admin.createEdge('restart-edge');
    await dir.admin.createDevice('restart-dev', 'restart-edge');
    const before = await desiredOf(
      track(await mustConnect(dir.mqttUrl, 'restart-edge', token)),
      'restart-edge',
    );
    await dir.stop(true);

    const again = await startFabricCloud({ models: ['digits-tiny'], dataDir: dir.dataDir });
    try {
      const after = await desiredOf(
        track(await mustConnect(again.mqttUrl, 'restart-edge', token)),
        'restart-edge',
      );
      expect(after.version).toBeGreaterThan(before.version);
      expect(after.devices.map((d) => d.id)).toEqual(['restart-dev']);
    } finally {
      await again.stop();
    }
  });
});

describe('the reserved edge id', () => {
  it("warns at start about an edge enrolled as 'cloud' before that id was reserved", async () => {
    const first = await startFabricCloud({ models: ['digits-tiny'] });
    await first.stop(true);
    // An older database: the store refuses this id now, so the row goes in by hand.
    const db = await PGlite.create(join(first.dataDir, 'pglite'));
    await db.query(`INSERT INTO edges (id, token_hash, created_at) VALUES ('cloud', 'x', now())`);
    await db.close();
    const internal = vi.spyOn(console, 'error').mockImplementation(() => {});
    const again = await startFabricCloud({ models: ['digits-tiny'], dataDir: first.dataDir });
    try {
      const messages = internal.mock.calls.map((call) => String((call[1] as Error | undefined)?.message));
      expect(messages).toContainEqual(
        expect.stringMatching(/edge 'cloud' was enrolled before that id was reserved/),
      );
    } finally {
      internal.mockRestore();
      await again.stop();
    }
  });
});
