/**
 * Rollouts on a real CloudServer (PGlite, auth on, its broker on 127.0.0.1 port 0): MQTT.js clients
 * pose as edges, read the `deployment` block of their retained desired state and publish reported
 * states as an edge agent does. Canary first, the rest once it is healthy; a failed canary stops the
 * deployment, and so does a canary not active by the canary timeout; a newer deployment supersedes;
 * a rollback by hand sends the previous version; with a gate, audits with shadow answers pass a model that answers as well (done before the shadow time
 * ends) and fail one that answers worse (permuted labels), which rolls the edge back.
 */
import { type AuditUpload, type DeploymentReport, encodeAuditUpload, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../admin-client.ts';
import type { DesiredStateMessage } from '../fabric/desired-state-publisher.ts';
import { pushCommittedModel, reportedDeployment } from '../testing/deployment-fixture.ts';
import { eventually, type FabricCloud, mustConnect, startFabricCloud } from '../testing/fabric-fixture.ts';

let cloud: FabricCloud;
const clients: MqttClient[] = [];
const tokens = new Map<string, string>();
/** The last desired state each edge client received. */
const desired = new Map<string, DesiredStateMessage>();
let v1Sha = '';

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-large'], cloudModel: 'digits-large' });
  v1Sha = (await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 1)).sha256;
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 2);
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 3);
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await cloud?.stop();
});

let seq = 0;
/** Enrols `count` edges and connects each as an MQTT client following its desired state. */
async function edges(count: number): Promise<string[]> {
  const ids: string[] = [];
  seq++;
  for (let i = 0; i < count; i++) {
    const id = `dep-${seq}-${String.fromCharCode(97 + i)}`;
    tokens.set(id, (await cloud.admin.createEdge(id)).token);
    const client = await mustConnect(cloud.mqttUrl, id, tokens.get(id)!);
    clients.push(client);
    client.on('message', (topic, payload) => {
      if (topic === topics.desired(id)) desired.set(id, JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(topics.desired(id), { qos: 1 });
    ids.push(id);
  }
  await eventually(() => ids.every((id) => desired.has(id)));
  return ids;
}

const clientOf = (id: string) => clients.find((c) => c.options.clientId === id)!;

async function report(edgeId: string, deployment: DeploymentView, over: Partial<DeploymentReport>) {
  const body: DeploymentReport = {
    id: deployment.id,
    model: deployment.model,
    version: deployment.version,
    state: 'active',
    previous: { model: 'digits-mid', version: 1 },
    ...over,
  };
  await clientOf(edgeId).publishAsync(topics.reported(edgeId), reportedDeployment(body), { qos: 1 });
}

const deploymentOf = (id: string) => desired.get(id)?.deployment;
const stateOf = async (id: string) => (await cloud.admin.deployment(id)).state;

describe('deployments', () => {
  it('sends the canary first, the rest once the canary stays active for the healthy time, then is done', async () => {
    const [a, b, c] = await edges(3);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!, b!, c!],
      canary: 0.3,
      canaryHealthyMs: 300,
    });
    expect(d).toMatchObject({ state: 'canary', canary: 0.3, version: 2 });
    expect(d.edges?.map((e) => [e.edge, e.stage, e.state, e.sent])).toEqual([
      [a, 'canary', 'pending', true],
      [b, 'rest', 'pending', false],
      [c, 'rest', 'pending', false],
    ]);
    await eventually(() => deploymentOf(a!)?.id === d.id);
    expect(deploymentOf(a!)).toEqual({
      id: d.id,
      model: 'digits-mid',
      version: 2,
      sha256: d.sha256,
      bytes: d.bytes,
    });
    expect(deploymentOf(b!)).toBeUndefined();

    await report(a!, d, {
      state: 'downloading',
      receivedBytes: 1000,
      totalBytes: d.bytes,
      previous: undefined,
    });
    await eventually(async () => (await cloud.admin.deployment(d.id)).edges![0]!.receivedBytes === 1000);
    expect((await cloud.admin.deployment(d.id)).edges![0]).toMatchObject({
      state: 'downloading',
      totalBytes: d.bytes,
    });
    expect(await stateOf(d.id)).toBe('canary');

    await report(a!, d, { state: 'active' });
    await eventually(async () => (await stateOf(d.id)) === 'rolling', 15_000);
    await eventually(() => deploymentOf(b!)?.id === d.id && deploymentOf(c!)?.id === d.id);
    await report(b!, d, { state: 'active' });
    await report(c!, d, { state: 'active' });
    await eventually(async () => (await stateOf(d.id)) === 'done', 15_000);
    expect((await cloud.admin.deployment(d.id)).edges!.map((e) => e.previous)).toEqual(
      Array(3).fill({ model: 'digits-mid', version: 1 }),
    );

    // Rollback by hand: a new deployment of the previous version for the edges that moved.
    const rolled = await cloud.admin.rollbackDeployment(d.id);
    expect(rolled.rolledBack.state).toBe('rolled_back');
    expect(rolled.rollbacks).toHaveLength(1);
    expect(rolled.rollbacks[0]).toMatchObject({ version: 1, sha256: v1Sha, state: 'rolling' });
    await eventually(() => [a!, b!, c!].every((e) => deploymentOf(e)?.id === rolled.rollbacks[0]!.id));
    expect(deploymentOf(a!)).toMatchObject({ version: 1, sha256: v1Sha });
  }, 60_000);

  it('a canary that goes offline after reporting active is not healthy: the rest wait until it is back', async () => {
    const [a, b] = await edges(2);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!, b!],
      canary: 0.5,
      canaryHealthyMs: 300,
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    await report(a!, d, { state: 'active' });
    // The canary's process dies right after its swap: its will (or a graceful stop) says offline.
    await clientOf(a!).publishAsync(topics.status(a!), 'offline', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 1_500)); // the healthy time and the service's ticks pass
    expect(await stateOf(d.id)).toBe('canary');
    expect(deploymentOf(b!)).toBeUndefined();
    // Back, and still active: now the rest get it.
    await clientOf(a!).publishAsync(topics.status(a!), 'online', { qos: 1, retain: true });
    await eventually(async () => (await stateOf(d.id)) === 'rolling', 15_000);
    await eventually(() => deploymentOf(b!)?.id === d.id);
  }, 60_000);

  it('a canary that goes offline before it reports active fails the deployment at the canary timeout', async () => {
    const [a, b, c] = await edges(3);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!, b!, c!],
      canary: 0.67,
      canaryHealthyMs: 0,
      canaryTimeoutMs: 1_500,
    });
    expect(d).toMatchObject({ canaryTimeoutMs: 1_500 });
    await eventually(() => deploymentOf(a!)?.id === d.id && deploymentOf(b!)?.id === d.id);
    await report(a!, d, { state: 'active' });
    await clientOf(b!).publishAsync(topics.status(b!), 'offline', { qos: 1, retain: true });
    await eventually(async () => (await stateOf(d.id)) === 'failed', 15_000);
    const seen = await cloud.admin.deployment(d.id);
    expect(seen.reason).toMatch(
      new RegExp(`^canary timeout: edge '${b}' no active report within 1.5 s \\(no report, offline\\)`),
    );
    expect(seen.edges!.find((e) => e.edge === b)).toMatchObject({
      state: 'pending',
      sent: false,
      failure: expect.stringMatching(/^timeout: no active report/),
    });
    // The canary that moved is rolled back; the offline one is told nothing; the rest never get it.
    await eventually(() => deploymentOf(a!)?.version === 1);
    await eventually(() => deploymentOf(b!) === undefined);
    expect(deploymentOf(c!)).toBeUndefined();
  }, 60_000);

  it('a canary that is online but never gets to active is bounded by the same timeout', async () => {
    const [a, b] = await edges(2);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!, b!],
      canary: 0.5,
      canaryTimeoutMs: 1_000,
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    await report(a!, d, { state: 'downloading', receivedBytes: 10, totalBytes: d.bytes });
    await eventually(async () => (await stateOf(d.id)) === 'failed', 15_000);
    expect((await cloud.admin.deployment(d.id)).reason).toContain('(last reported downloading)');
    // A newer deployment (its previous version) stops the download on the edge.
    await eventually(() => deploymentOf(a!)?.version === 1);
    expect(deploymentOf(b!)).toBeUndefined();

    // A canary whose previous version is not in the model store: failed all the same, rollback by hand.
    const [c] = await edges(1);
    const e = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [c!],
      canaryTimeoutMs: 500,
    });
    await report(c!, e, { state: 'warming', previous: { model: 'digits-mid', version: 9 } });
    await eventually(async () => (await stateOf(e.id)) === 'failed', 15_000);
    expect((await cloud.admin.deployment(e.id)).reason).toMatch(/last reported warming.*; no rollback: /);
    // No rollback to stop it there, so the block is withdrawn: the edge stops it (deployer.ts).
    await eventually(() => deploymentOf(c!) === undefined);
    expect((await cloud.admin.deployment(e.id)).edges![0]).toMatchObject({ state: 'warming', sent: false });
  }, 60_000);

  it('stops at a failed canary: the deployment fails with the reason and the rest never get it', async () => {
    const [a, b] = await edges(2);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 3,
      edges: [a!, b!],
      canaryHealthyMs: 0,
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    await report(a!, d, { state: 'failed', failure: { kind: 'checksum', message: 'sha256 mismatch' } });
    await eventually(async () => (await stateOf(d.id)) === 'failed');
    const seen = await cloud.admin.deployment(d.id);
    expect(seen.reason).toContain('checksum: sha256 mismatch');
    expect(seen.edges![1]).toMatchObject({ edge: b, state: 'pending', sent: false });
    // The timer runs on; the rest still gets nothing.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(deploymentOf(b!)).toBeUndefined();
  }, 60_000);

  it('withdraws a failed deployment from an edge still on its way; one that swaps in too late is rolled back', async () => {
    const [a, b] = await edges(2);
    const d = await cloud.admin.deploy({ model: 'digits-mid', version: 2, edges: [a!, b!], canary: 1 });
    await eventually(() => deploymentOf(a!)?.id === d.id && deploymentOf(b!)?.id === d.id);
    await report(b!, d, { state: 'downloading', receivedBytes: 10, totalBytes: d.bytes });
    await report(a!, d, { state: 'failed', failure: { kind: 'load', message: 'does not load' } });
    await eventually(async () => (await stateOf(d.id)) === 'failed');
    await eventually(() => deploymentOf(b!) === undefined);
    // b swapped before the withdrawal reached it: a rollback to its previous version follows.
    await report(b!, d, { state: 'active', previous: { model: 'digits-mid', version: 1 } });
    await eventually(() => deploymentOf(b!)?.version === 1);
    expect((await cloud.admin.deployment(d.id)).reason).toMatch(/; rollback to digits-mid@1 \(/);
  }, 60_000);

  it('a rollback by hand of a failed deployment leaves the edge that failed alone: it never moved', async () => {
    const [a, b] = await edges(2);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 3,
      edges: [a!, b!],
      canaryHealthyMs: 0,
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    await report(a!, d, { state: 'failed', failure: { kind: 'checksum', message: 'sha256 mismatch' } });
    await eventually(async () => (await stateOf(d.id)) === 'failed');
    const rolled = await cloud.admin.rollbackDeployment(d.id);
    expect(rolled.rollbacks).toEqual([]);
    expect(rolled.rolledBack.state).toBe('rolled_back');
    expect(rolled.rolledBack.reason).toContain('rollback to nothing');
  }, 60_000);

  it('one deployment per edge: a newer one supersedes, and reports of the old one change nothing', async () => {
    const [a] = await edges(1);
    const first = await cloud.admin.deploy({ model: 'digits-mid', version: 2, edges: [a!] });
    const second = await cloud.admin.deploy({ model: 'digits-mid', version: 3, edges: [a!] });
    await eventually(() => deploymentOf(a!)?.id === second.id);
    await report(a!, first, { state: 'failed', failure: { kind: 'load', message: 'x' } });
    await report(a!, second, { state: 'downloading', receivedBytes: 1, totalBytes: second.bytes });
    await eventually(
      async () => (await cloud.admin.deployment(second.id)).edges![0]!.state === 'downloading',
    );
    expect((await cloud.admin.deployment(first.id)).edges![0]!.state).toBe('superseded');
    expect(await stateOf(second.id)).toBe('canary');
    const listed = await cloud.admin.deployments('digits-mid');
    expect(listed.findIndex((x) => x.id === second.id)).toBeLessThan(
      listed.findIndex((x) => x.id === first.id),
    );
  }, 60_000);

  it('refuses unknown edges, unknown versions and versions of another tier', async () => {
    const [a] = await edges(1);
    await expect(
      cloud.admin.deploy({ model: 'digits-mid', version: 2, edges: ['nobody'] }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(cloud.admin.deploy({ model: 'digits-mid', version: 9, edges: [a!] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await pushCommittedModel(cloud.admin, 'digits-tiny', 'tiny-d', 1);
    await expect(cloud.admin.deploy({ model: 'tiny-d', version: 1, edges: [a!] })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
    const withDevice = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!],
      device: { model: 'tiny-d', version: 1 },
    });
    await eventually(() => deploymentOf(a!)?.id === withDevice.id);
    expect(deploymentOf(a!)?.device).toMatchObject({ model: 'tiny-d', version: 1 });
  }, 60_000);
});

describe('accuracy gate', () => {
  const data = loadDigits('test');
  const oneHot = (label: number) => Array.from({ length: 10 }, (_, c) => (c === label ? 8 : 0));

  /** Audits where the new model answers with its labels permuted (or right) and the previous one right. */
  function pairs(count: number, offset: number, newRight = false): AuditUpload {
    return {
      cloudModel: 'digits-large',
      keepInputs: false,
      audits: Array.from({ length: count }, (_, k) => {
        const i = offset + k;
        const label = data.labels[i]!;
        return {
          deviceId: 'dev-1',
          audit: {
            id: `gate-${i}`,
            time: Date.now(),
            rate: 1,
            model: 'digits-tiny:1',
            input: {
              name: 'input',
              datatype: 'FP32',
              shape: [1, 1, 28, 28],
              data: data.images.slice(i * 784, (i + 1) * 784),
            },
            deviceOutputs: oneHot(label),
            deviceScore: 0.3,
            tier: 'device',
          },
          edge: { model: 'digits-mid:2', outputs: oneHot(newRight ? label : (label + 1) % 10), score: 0.9 },
          shadow: { model: 'digits-mid:1', outputs: oneHot(label), score: 0.9 },
        };
      }),
    };
  }

  async function upload(edge: string, body: AuditUpload): Promise<void> {
    const res = await fetch(`${cloud.url}/v2/fogline/edges/${edge}/audits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${edge}:${tokens.get(edge)}`, 'content-type': 'application/json' },
      body: encodeAuditUpload(body),
    });
    expect(res.status).toBe(202);
  }

  it('a model that answers as well passes the gate, and the deployment is done before the shadow time ends', async () => {
    const [a] = await edges(1);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!],
      canaryHealthyMs: 0,
      gate: { minPaired: 10, maxDrop: 0.3, shadowMs: 600_000 },
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    await report(a!, d, { state: 'active' });
    await eventually(async () => (await stateOf(d.id)) === 'rolling', 15_000);
    await upload(a!, pairs(16, 100, true));
    await eventually(async () => (await stateOf(d.id)) === 'done', 30_000);
    const seen = (await cloud.admin.deployment(d.id)).edges![0]!;
    expect(seen.gate).toMatchObject({ verdict: 'pass', newOnlyCorrect: 0, oldOnlyCorrect: 0 });
    expect(seen.gate!.paired).toBeGreaterThanOrEqual(10);
  }, 90_000);

  it('a model that answers worse on paired audits fails the gate: the deployment fails and the edge rolls back', async () => {
    const [a] = await edges(1);
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [a!],
      gate: { minPaired: 20, maxDrop: 0.05, shadowMs: 600_000 },
    });
    await eventually(() => deploymentOf(a!)?.id === d.id);
    expect(deploymentOf(a!)?.gate).toEqual({ minPaired: 20, maxDrop: 0.05, shadowMs: 600_000 });
    await report(a!, d, { state: 'active' });
    await eventually(async () => (await cloud.admin.deployment(d.id)).edges![0]!.state === 'active');
    for (let offset = 0; offset < 64; offset += 32) await upload(a!, pairs(32, offset));
    await eventually(async () => (await stateOf(d.id)) === 'failed', 30_000);
    const seen = await cloud.admin.deployment(d.id);
    expect(seen.reason).toMatch(
      /accuracy gate .*less often than the previous \(drop [\d.]+, 95 % CI .*worse than the bound/,
    );
    expect(seen.edges![0]!.failure).toMatch(/^accuracy: /);
    await eventually(() => deploymentOf(a!)?.version === 1, 10_000);
    expect(deploymentOf(a!)?.id).not.toBe(d.id);
  }, 90_000);
});
