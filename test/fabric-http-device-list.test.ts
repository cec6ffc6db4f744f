/**
 * An edge with the cloud's HTTP API and no cloud broker (`fogline edge --cloud ...` without
 * `--cloud-broker`) still gets its device list: fetched at start from `GET
 * /v2/fogline/edges/{edgeId}/desired` with its own token, then polled (`deviceListPollMs`), applied
 * (new devices let in, revoked ones disconnected), cached on disk. Real CloudServer (auth on, PGlite),
 * real edge agent, real MQTT.js devices on the edge's embedded broker, all on 127.0.0.1.
 *
 * One story, in order: first fetch → a device added → a device revoked → quiet polls → restart from
 * the cache with the cloud gone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import {
  createEdgeAgent,
  DESIRED_STATE_FILE,
  type EdgeAgent,
  type EdgeAgentOptions,
} from '@fogline/edge-agent';
import { closed, connectClient, connectOutcome } from '@fogline/shared/testing';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EDGE = 'http-edge';
const POLL_MS = 200;
/** CONNACK 0x04: bad user name or password (MQTT 3.1.1 §3.2.2.3), how the edge refuses a device. */
const REFUSED = 4;

let cloud: FabricCloud;
let agent: EdgeAgent;
let edgeBroker: string;
let edgeOptions: EdgeAgentOptions;
const dataDir = mkdtempSync(join(tmpdir(), 'fogline-http-list-'));
const tokens = new Map<string, string>();
const logs: string[] = [];
const clients: MqttClient[] = [];

/** The version the cloud serves this edge right now (what its retained topic holds). */
async function cloudVersion(): Promise<number> {
  const current = await cloud.server.fabric.publisher.current(EDGE);
  return current!.message.version;
}

async function enrol(deviceId: string): Promise<void> {
  tokens.set(deviceId, (await cloud.admin.createDevice(deviceId, EDGE)).token);
}

function start(options: EdgeAgentOptions): Promise<string> {
  agent = createEdgeAgent(options);
  return agent.start().then((info) => `mqtt://127.0.0.1:${info.localBroker.mqttPort}`);
}

beforeAll(async () => {
  cloud = await startFabricCloud();
  const edge = await cloud.admin.createEdge(EDGE);
  await enrol('dev-a');
  edgeOptions = {
    edgeId: EDGE,
    token: edge.token,
    cloudUrl: cloud.url, // and no cloudBrokerUrl
    deviceListPollMs: POLL_MS,
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: 0 },
    dataDir,
    workers: 1,
    intraOpThreads: 1,
    logger: { info: (line) => logs.push(line), warn: (line) => logs.push(`warning: ${line}`) },
  };
  edgeBroker = await start(edgeOptions);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await agent?.stop().catch(() => {});
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the device list over HTTP, with no cloud broker', () => {
  it('fetches the list at start, with the version the cloud publishes; an enrolled device (only) gets in', async () => {
    await eventually(() => agent.deviceListVersion !== undefined, 5000);
    expect(agent.deviceListVersion).toBe(await cloudVersion());
    expect(agent.cloudLinkConnected).toBe(false);

    const devA = await connectClient(edgeBroker, 'dev-a', tokens.get('dev-a')!);
    clients.push(devA);
    expect(devA.connected).toBe(true);
    expect(await connectOutcome(edgeBroker, 'dev-a-2', tokens.get('dev-a')!)).toBe(REFUSED);
    expect(await connectOutcome(edgeBroker, 'dev-b', 'fgd_not-enrolled')).toBe(REFUSED);
  });

  it('lets a device added later in after the next poll', async () => {
    expect(await connectOutcome(edgeBroker, 'dev-b', 'fgd_unknown')).toBe(REFUSED);
    await enrol('dev-b');
    const version = await cloudVersion();
    await eventually(() => agent.deviceListVersion === version, 10 * POLL_MS);
    expect(await connectOutcome(edgeBroker, 'dev-b', tokens.get('dev-b')!)).toBe('connected');
  });

  it('disconnects a revoked device after the next poll, and refuses it from then on', async () => {
    const devA = clients[0]!;
    const gone = closed(devA);
    await cloud.admin.revokeDevice('dev-a');
    await gone;
    expect(agent.deviceListVersion).toBe(await cloudVersion());
    expect(await connectOutcome(edgeBroker, 'dev-a', tokens.get('dev-a')!)).toBe(REFUSED);
  });

  it('caches each applied list on disk (hashes, never tokens), and applies each version once', async () => {
    await new Promise((r) => setTimeout(r, 4 * POLL_MS)); // a few polls with nothing new: 304s
    const cached = readFileSync(join(dataDir, DESIRED_STATE_FILE), 'utf8');
    const state = JSON.parse(cached) as { version: number; devices: { id: string }[] };
    expect(state.version).toBe(agent.deviceListVersion);
    expect(state.devices.map((d) => d.id)).toEqual(['dev-b']);
    for (const token of tokens.values()) expect(cached).not.toContain(token);

    const fetched = logs.filter((l) => l.startsWith('device list v') && l.endsWith('fetched from the cloud'));
    expect(fetched).toHaveLength(3); // at start, after the enrolment, after the revocation
    expect(new Set(fetched).size).toBe(3);
    expect(logs.filter((l) => l.includes('could not fetch the device list'))).toEqual([]);
  });

  it('restarts from the cache with the cloud gone: the failed fetch is logged, not fatal', async () => {
    const version = agent.deviceListVersion;
    await agent.stop();
    await cloud.stop();
    logs.length = 0;
    edgeBroker = await start({ ...edgeOptions, cloudUrl: 'http://127.0.0.1:1' });
    expect(agent.deviceListVersion).toBe(version);
    expect(await connectOutcome(edgeBroker, 'dev-b', tokens.get('dev-b')!)).toBe('connected');
    expect(await connectOutcome(edgeBroker, 'dev-a', tokens.get('dev-a')!)).toBe(REFUSED);
    await eventually(() => logs.some((l) => l.includes('could not fetch the device list')), 5000);
    // Logged once per outage, not at every poll.
    await new Promise((r) => setTimeout(r, 3 * POLL_MS));
    expect(logs.filter((l) => l.includes('could not fetch the device list'))).toHaveLength(1);
  });
});
