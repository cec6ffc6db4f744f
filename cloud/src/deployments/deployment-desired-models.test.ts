/**
 * The `models` of an edge's desired state follow its deployment (edge-models.ts followDeployment):
 * a real cloud serving digits-mid@1 as its edge model, an edge as a real MQTT client reporting what
 * an edge agent reports. Deployed to v2 the edge is told digits-mid 2 (so it reports no
 * `pendingModels`), its reports cause no further publishes; a deployment it reports failed tells it
 * the version it kept.
 */
import { type DeploymentReport, topics } from '@fogline/shared';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../admin-client.ts';
import type { DesiredStateMessage } from '../fabric/desired-state-publisher.ts';
import { pushCommittedModel } from '../testing/deployment-fixture.ts';
import { eventually, type FabricCloud, mustConnect, startFabricCloud } from '../testing/fabric-fixture.ts';

const EDGE = 'models-edge';
let cloud: FabricCloud;
let client: MqttClient;
const received: DesiredStateMessage[] = [];

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-mid', 'digits-tiny'], cloudModel: 'digits-tiny' });
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 2);
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 3);
  const { token } = await cloud.admin.createEdge(EDGE);
  client = await mustConnect(cloud.mqttUrl, EDGE, token);
  client.on('message', (topic, payload) => {
    if (topic === topics.desired(EDGE)) received.push(JSON.parse(payload.toString()));
  });
  await client.subscribeAsync(topics.desired(EDGE), { qos: 1 });
  await eventually(() => received.length > 0);
}, 120_000);
afterAll(async () => {
  client?.end(true);
  await cloud?.stop();
});

const last = () => received.at(-1)!;

/** Publishes the reported state an edge agent sends: what it serves, and its deployment if any. */
async function report(models: Record<string, number>, deployment?: DeploymentReport) {
  const state = { edgeId: EDGE, models, ...(deployment && { deployment }) };
  await client.publishAsync(topics.reported(EDGE), JSON.stringify(state), { qos: 1 });
}

const deployed = (d: DeploymentView, state: DeploymentReport['state'], previous = 1): DeploymentReport => ({
  id: d.id,
  model: d.model,
  version: d.version,
  state,
  previous: { model: 'digits-mid', version: previous },
});

/** Sends `count` identical reports and waits until the cloud has taken each (presence). */
async function reportTimes(count: number, models: Record<string, number>, deployment?: DeploymentReport) {
  for (let i = 0; i < count; i++) await report(models, deployment);
  await eventually(
    () => cloud.server.fabric.presence.view(EDGE).reported?.models?.['digits-mid'] === models['digits-mid'],
  );
}

describe("an edge's desired models during a deployment", () => {
  it('name the deployed version once the edge is in it, without republishing on its reports', async () => {
    await reportTimes(1, { 'digits-mid': 1 });
    await eventually(() => last().models['digits-mid'] === 1);
    expect(last().deployment).toBeUndefined();

    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 2,
      edges: [EDGE],
      canary: 1,
      canaryHealthyMs: 100,
    });
    await eventually(() => last().deployment?.id === d.id);
    expect(last().models).toEqual({ 'digits-mid': 2 });

    await reportTimes(3, { 'digits-mid': 1 }, deployed(d, 'downloading'));
    await reportTimes(3, { 'digits-mid': 2 }, deployed(d, 'active'));
    await eventually(async () => (await cloud.admin.deployment(d.id)).state === 'done', 15_000);
    await cloud.server.fabric.publisher.idle();
    const count = received.length;
    await reportTimes(5, { 'digits-mid': 2 }, deployed(d, 'active'));
    await cloud.server.fabric.publisher.idle();
    expect(received.length).toBe(count);
    expect(last().models).toEqual({ 'digits-mid': 2 });
    expect(last().deployment?.id).toBe(d.id);
  });

  it('name the version the edge kept when it reports the deployment failed', async () => {
    const d = await cloud.admin.deploy({
      model: 'digits-mid',
      version: 3,
      edges: [EDGE],
      canary: 1,
      canaryHealthyMs: 100,
    });
    await eventually(() => last().deployment?.id === d.id);
    expect(last().models).toEqual({ 'digits-mid': 3 });
    const failed = {
      ...deployed(d, 'failed', 2),
      failure: { kind: 'checksum' as const, message: 'sha256 differs' },
    };
    await reportTimes(2, { 'digits-mid': 2 }, failed);
    await eventually(() => last().models['digits-mid'] === 2);
    expect(last().deployment?.id).toBe(d.id);
    await cloud.server.fabric.publisher.idle();
    const count = received.length;
    await reportTimes(4, { 'digits-mid': 2 }, failed);
    await cloud.server.fabric.publisher.idle();
    expect(received.length).toBe(count);
  });

  it('keep naming the last deployment on an edge that waits behind the canary edges', async () => {
    const REST = 'models-edge-rest';
    const { token } = await cloud.admin.createEdge(REST);
    const rest = await mustConnect(cloud.mqttUrl, REST, token);
    const restReceived: DesiredStateMessage[] = [];
    rest.on('message', (topic, payload) => {
      if (topic === topics.desired(REST)) restReceived.push(JSON.parse(payload.toString()));
    });
    try {
      await rest.subscribeAsync(topics.desired(REST), { qos: 1 });
      const restReport = (deployment: DeploymentReport) =>
        rest.publishAsync(
          topics.reported(REST),
          JSON.stringify({ edgeId: REST, models: { 'digits-mid': 2 }, deployment }),
          { qos: 1 },
        );
      const first = await cloud.admin.deploy({
        model: 'digits-mid',
        version: 2,
        edges: [REST],
        canary: 1,
        canaryHealthyMs: 100,
      });
      await eventually(() => restReceived.at(-1)?.deployment?.id === first.id);
      await restReport(deployed(first, 'active'));
      await eventually(async () => (await cloud.admin.deployment(first.id)).state === 'done', 15_000);

      // The next deployment reaches the canary edge first; the other one waits its turn for a minute.
      const next = await cloud.admin.deploy({
        model: 'digits-mid',
        version: 3,
        edges: [EDGE, REST],
        canary: 0.5,
        canaryHealthyMs: 60_000,
      });
      await eventually(() => last().deployment?.id === next.id);
      await cloud.server.fabric.publisher.idle();
      expect(restReceived.at(-1)?.deployment?.id).toBe(first.id);
      expect(restReceived.at(-1)?.models).toEqual({ 'digits-mid': 2 });
    } finally {
      rest.end(true);
    }
  });
});
