/**
 * Fuzz suite, over real sockets: raw MQTT bytes against the real Aedes brokers, the cloud's (auth on,
 * a direct device and an edge enrolled) and an edge agent's embedded one (a device seeded): garbage,
 * truncated, oversized and mutated frames before CONNECT, and mutated PUBLISH/SUBSCRIBE packets
 * (fabric requests, reports, reported state) after a valid CONNECT. Invariants: no crash (an
 * exception would fail the run), the broker closes or answers every socket (no hang), real clients
 * are still served after each batch, RSS bounded.
 */
import { type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import {
  type AgentFixture,
  connectAgentDevice,
  startTestAgent,
  testDigits,
  UNREACHABLE_CLOUD_URL,
} from '@fogline/edge-agent/testing';
import { CLOUD_EDGE_ID, topics } from '@fogline/shared';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { DECODER_TARGETS } from './decoder-targets.ts';
import { FUZZ_SEED, FuzzCounter, fuzzCases, fuzzTimeoutMs, outOfTime } from './fuzz-budget.ts';
import {
  connectPacket,
  hostileFrames,
  mqttExchange,
  publishPacket,
  session,
  subscribePacket,
} from './mqtt-frames.ts';
import { concat, Mutator } from './mutator.ts';

const cases = fuzzCases(0.01, 120);
const counter = new FuzzCounter('mqtt');
const MAX_PACKET = 64 * 1024;
/** Most the test process (brokers included) may grow over its warmed-up RSS. */
const RSS_BOUND_MB = 512;
const seedsOf = (prefix: string) =>
  DECODER_TARGETS.filter((t) => t.name.startsWith(prefix)).flatMap((t) => t.seeds);
const requestSeeds = seedsOf('fabric request');
const reportSeeds = seedsOf('device reports');
const stateSeeds = [...seedsOf('deployment'), ...seedsOf('edge desired'), ...seedsOf('routing')];

afterAll(() => {
  counter.report();
});

interface Plan {
  port: number;
  /** A valid CONNECT and what that client may publish, to mutate after it. */
  identities: { connect: Uint8Array; packets: Uint8Array[] }[];
  alive(): Promise<void>;
}

/** Sends `total` cases in batches, 16 sockets at a time, checking the broker serves real clients after each batch. */
async function fuzzBroker(plan: Plan, total: number, seed: number): Promise<void> {
  const mutator = new Mutator(seed);
  const preAuth = [
    ...plan.identities.flatMap((i) => [i.connect, session(i.connect, ...i.packets)]),
    connectPacket('nobody', 'wrong'),
    ...hostileFrames(MAX_PACKET),
  ];
  const batches = 10;
  let hung = 0;
  for (let b = 0; b < batches; b++) {
    const inBatch = Math.ceil(total / batches);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < inBatch && !outOfTime()) {
          let outcome: string;
          if (mutator.int(2) === 0) outcome = await mqttExchange(plan.port, mutator.mutate(preAuth));
          else {
            // A valid session, then mutated packets: the broker's and the tier's decoders after auth.
            const who = mutator.pick(plan.identities);
            const tail = Array.from({ length: 1 + mutator.int(3) }, () => mutator.mutate(who.packets));
            outcome = await mqttExchange(plan.port, who.connect, concat(...tail));
          }
          counter.count(outcome);
          if (outcome === 'timeout') hung++;
        }
      }),
    );
    counter.sampleRss();
    expect(counter.rssGrowthMb).toBeLessThan(RSS_BOUND_MB);
    const started = Date.now();
    await plan.alive();
    if (process.env.FOGLINE_FUZZ_DEBUG) console.log(`batch ${b}: alive in ${Date.now() - started} ms`);
  }
  expect(hung).toBe(0);
  counter.finish();
}

/** Polls until `attempt` succeeds (a broker may refuse CONNECTs for a moment after a flood: connect rate). */
async function eventuallyOk(attempt: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('fuzz: raw MQTT against the real brokers', () => {
  it(
    'the cloud broker: mutated frames before and after CONNECT; it stays up and serves real clients',
    async () => {
      let cloud: FabricCloud | undefined;
      try {
        cloud = await startFabricCloud({ models: ['digits-tiny'], mqtt: { maxPacketBytes: MAX_PACKET } });
        const port = Number(new URL(cloud.mqttUrl).port);
        const device = await cloud.admin.createDevice('fz-direct', null);
        const edge = await cloud.admin.createEdge('fz-edge');
        const mqttUrl = cloud.mqttUrl;
        const plan: Plan = {
          port,
          identities: [
            {
              connect: connectPacket('fz-direct', device.token),
              packets: [
                ...requestSeeds.map((s) => publishPacket(topics.infer(CLOUD_EDGE_ID), s)),
                subscribePacket(topics.reply('fz-direct')),
              ],
            },
            {
              connect: connectPacket('fz-edge', edge.token),
              packets: [
                ...stateSeeds.map((s) => publishPacket(topics.reported('fz-edge'), s)),
                ...reportSeeds.map((s) => publishPacket(topics.telemetry('fz-edge'), s, 0)),
                subscribePacket(topics.desired('fz-edge')),
              ],
            },
          ],
          alive: () =>
            eventuallyOk(async () => {
              const client = await mqtt.connectAsync(mqttUrl, {
                clientId: 'fz-direct',
                username: 'fz-direct',
                password: device.token,
                reconnectPeriod: 0,
                connectTimeout: 5000,
              });
              try {
                await client.subscribeAsync(topics.reply('fz-direct'), { qos: 1 });
              } finally {
                await client.endAsync(true);
              }
            }),
        };
        await plan.alive();
        counter.baseline();
        await fuzzBroker(plan, Math.ceil(cases / 2), FUZZ_SEED);
        expect((await fetch(`${cloud.url}/v2/health/ready`)).status).toBe(200);
      } finally {
        await cloud?.stop();
      }
    },
    fuzzTimeoutMs(cases, 40),
  );

  it(
    "an edge agent's broker: mutated frames, fabric requests and reports; its devices are still answered",
    async () => {
      const dev = { id: 'dev-1', token: 'tok-1' };
      let fixture: AgentFixture | undefined;
      try {
        fixture = await startTestAgent({ devices: [dev], cloudUrl: UNREACHABLE_CLOUD_URL });
        const started = fixture;
        const image = testDigits(1).images[0]!;
        const plan: Plan = {
          port: started.info.localBroker.mqttPort!,
          identities: [
            {
              connect: connectPacket(dev.id, dev.token),
              packets: [
                ...requestSeeds.map((s) => publishPacket(topics.infer(started.info.edgeId), s)),
                ...reportSeeds.map((s) => publishPacket(topics.report(dev.id), s, 0)),
                subscribePacket(topics.reply(dev.id)),
                subscribePacket(topics.policy(started.info.edgeId)),
              ],
            },
          ],
          alive: () =>
            eventuallyOk(async () => {
              const device = await connectAgentDevice(started, dev);
              try {
                const reply = await device.infer(image, { deadlineMs: 5000, waitMs: 10_000 });
                expect(reply.decoded.kind).toBe('response');
              } finally {
                await device.close();
              }
            }),
        };
        await plan.alive();
        await fuzzBroker(plan, Math.floor(cases / 2), FUZZ_SEED + 1);
      } finally {
        await fixture?.stop();
      }
    },
    fuzzTimeoutMs(cases, 40),
  );
});
