/**
 * `npm run bench -- cluster [--seconds S] [--rounds N] [--window W]`
 * Broker messages/s through the Redis-backed broker cluster (docs/scale-out.md "The broker cluster"):
 * a publisher on replica A and a subscriber on replica B, two fogline brokers on mqemitter-redis and
 * aedes-persistence-redis over this machine's Redis, against one embedded fogline broker (Aedes in
 * memory) and against this machine's Mosquitto, under the same load: QoS 1, 256-byte payloads, at
 * most W unacknowledged publishes, for S seconds; the setups take turns for N rounds and each keeps
 * its median. Publisher, subscriber and fogline brokers share this one Node process; Mosquitto runs
 * in its own (C) process.
 */
import { randomBytes } from 'node:crypto';
import { brokerEngines, openCluster } from '@fogline/cloud';
import type { Identity } from '@fogline/shared';
import { topics } from '@fogline/shared';
import { type BrokerOptions, createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { MOSQUITTO_URL } from '@fogline/shared/testing';
import mqtt, { type MqttClient } from 'mqtt';
import { numberFlag, stringFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, writeReport } from './lib/report.ts';
import { median, round, summarize } from './lib/stats.ts';

const PAYLOAD_BYTES = 256;
const TOPIC = topics.reply('bench-sub');
/** The publisher is a fogline service (may publish any device's reply), the subscriber that device. */
const IDENTITIES: Record<string, Identity> = {
  'bench-pub': { kind: 'service', id: 'bench-pub' },
  'bench-sub': { kind: 'device', id: 'bench-sub', edgeId: 'cloud' },
};
const UNLIMITED = { ratePerSec: 1e9, burst: 1e9 };

interface Setup {
  name: string;
  pubUrl: string;
  subUrl: string;
  close(): Promise<void>;
}

async function foglineBroker(
  aedes?: BrokerOptions['aedes'],
): Promise<{ broker: FoglineBroker; url: string }> {
  const broker = await createBroker({
    resolveIdentity: async (id) => IDENTITIES[id] ?? null,
    mqttPort: 0,
    publishRate: UNLIMITED,
    ...(aedes && { aedes }),
  });
  const { mqttPort } = await broker.listen();
  return { broker, url: `mqtt://127.0.0.1:${mqttPort}` };
}

function connect(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, username: clientId, password: 'x', reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Publishes for `seconds` with at most `window` unacknowledged; what the subscriber got, and when. */
async function measure(setup: Setup, seconds: number, window: number) {
  const sub = await connect(setup.subUrl, 'bench-sub');
  const pub = await connect(setup.pubUrl, 'bench-pub');
  await sub.subscribeAsync(TOPIC, { qos: 1 });
  const latencies: number[] = [];
  let received = 0;
  sub.on('message', (_t, payload) => {
    received++;
    latencies.push(performance.now() - payload.readDoubleLE(0));
  });
  const payload = () => {
    const p = randomBytes(PAYLOAD_BYTES);
    p.writeDoubleLE(performance.now(), 0);
    return p;
  };
  // Warm-up, then the measured run.
  for (let i = 0; i < 200; i++) await pub.publishAsync(TOPIC, payload(), { qos: 1 });
  const until = Date.now() + seconds * 1000;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const more = () => {
      while (inFlight < window && Date.now() < until) {
        inFlight++;
        pub.publish(TOPIC, payload(), { qos: 1 }, () => {
          inFlight--;
          if (Date.now() < until) more();
          else if (inFlight === 0) resolve();
        });
      }
    };
    received = 0;
    latencies.length = 0;
    more();
  });
  const start = until - seconds * 1000;
  const perSec = received / ((Date.now() - start) / 1000);
  await pub.endAsync();
  await sub.endAsync();
  return { messagesPerSec: perSec, latency: summarize(latencies) };
}

export default async function run(args: string[] = []): Promise<void> {
  const seconds = numberFlag(args, '--seconds', 3);
  const rounds = numberFlag(args, '--rounds', 3);
  const window = numberFlag(args, '--window', 100);
  const redisUrl = stringFlag(args, '--redis-url') ?? 'redis://127.0.0.1:6379';
  const head = reportHead('cluster', args);
  const cluster = await openCluster({
    url: redisUrl,
    keyPrefix: `fogline-bench-${randomBytes(4).toString('hex')}:`,
  });
  const engines = () =>
    brokerEngines(cluster, { heartbeatMs: 2_000, connectedElsewhere: () => false, stillListed: () => false });
  const one = await foglineBroker();
  const a = await foglineBroker(engines());
  const b = await foglineBroker(engines());
  const setups: Setup[] = [
    { name: 'one embedded broker', pubUrl: one.url, subUrl: one.url, close: () => one.broker.close() },
    {
      name: 'cluster: publisher on A, subscriber on B',
      pubUrl: a.url,
      subUrl: b.url,
      close: async () => {
        await a.broker.close();
        await b.broker.close();
      },
    },
    { name: 'Mosquitto (local)', pubUrl: MOSQUITTO_URL, subUrl: MOSQUITTO_URL, close: async () => {} },
  ];
  const samples = new Map(setups.map((s) => [s.name, [] as Awaited<ReturnType<typeof measure>>[]]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const setup of setups) {
        const sample = await measure(setup, seconds, window);
        samples.get(setup.name)!.push(sample);
        console.log(`round ${r + 1} ${setup.name}: ${sample.messagesPerSec.toFixed(0)} msg/s`);
      }
    }
  } finally {
    for (const setup of setups) await setup.close();
    const keys = await cluster.redis.keys(`${cluster.keyPrefix}*`);
    if (keys.length > 0) await cluster.redis.del(...keys);
    await cluster.close();
  }
  const points = setups.map((s) => {
    const runs = samples.get(s.name)!;
    return {
      setup: s.name,
      messagesPerSec: median(runs.map((x) => x.messagesPerSec)),
      p50Ms: median(runs.map((x) => x.latency.p50Ms)),
      p99Ms: median(runs.map((x) => x.latency.p99Ms)),
    };
  });
  const base = points[0]!.messagesPerSec;
  const rows = points.map((p) =>
    [
      p.setup,
      p.messagesPerSec.toFixed(0),
      (p.messagesPerSec / base).toFixed(2),
      ms(p.p50Ms),
      ms(p.p99Ms),
    ].join(' | '),
  );
  const markdown = [
    '# Broker cluster: messages/s through Redis',
    '',
    machineLine(head.at, head.machine),
    '',
    `\`${head.command}\`: QoS 1, ${PAYLOAD_BYTES}-byte payloads, at most ${window} unacknowledged, ${seconds} s`,
    `per run, ${rounds} rounds taking turns; medians. Ratio: messages/s over one embedded broker's.`,
    '',
    table('setup | messages/s | ratio | publish → receive p50 ms | p99 ms', rows),
    '',
  ].join('\n');
  writeReport(
    'cluster',
    {
      ...head,
      seconds,
      rounds,
      window,
      points: points.map((p) => ({ ...p, ratio: round(p.messagesPerSec / base, 3) })),
    },
    markdown,
  );
}
