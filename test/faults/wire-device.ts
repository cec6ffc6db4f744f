/**
 * The faults suite's wire-level device: the fabric protocol spoken with MQTT.js only (no SDK), so a
 * test controls the connection (its session flag, its socket) and sees every reply the broker
 * delivers, counted per request id, where a duplicate would show.
 */
import { encodeFabricRequest, readFabricReply, topics } from '@fogline/shared';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface WireDeviceOptions {
  /** MQTT clean session (default true, as the SDK connects); false keeps a persistent session. */
  readonly clean?: boolean;
}

/** A device speaking the fabric protocol with MQTT.js only: counts the replies to each of its request ids. */
export interface WireDevice {
  readonly client: MqttClient;
  /**
   * Publishes one request at QoS 1 (when connected, or always with `whileOffline`: MQTT.js then keeps
   * it and sends it on the next connection); its id. `requestId` sends again under an earlier id.
   */
  send(
    input: Float32Array,
    deadlineMs: number,
    options?: { requestId?: string; whileOffline?: boolean },
  ): string | undefined;
  /**
   * Sends one request (queued by MQTT.js while offline) and settles with its first reply: resolves
   * with who answered ("edge", "cloud degraded", …), rejects with the error reply's code, or, with no
   * reply by the deadline, rejects DEADLINE_EXCEEDED from the device itself, as a device gives up.
   */
  request(input: Float32Array, deadlineMs: number): Promise<string>;
  /** Replies that came after their request had settled at its deadline. */
  readonly repliesAfterDeadline: number;
  /** Replies received for `requestId` (error replies included). */
  repliesTo(requestId: string): number;
  /** Time from the first send of `requestId` to its first reply, ms; undefined while unanswered. */
  latencyMs(requestId: string): number | undefined;
  /** Error codes of the error replies received, by request id. */
  readonly errors: Map<string, string>;
  /** Who answered each reply, in order of arrival ("edge", "cloud", …; "error" for an error reply). */
  readonly tiers: string[];
  /** Request ids answered more than once. */
  duplicates(): string[];
  /** Destroys the socket under MQTT.js (no DISCONNECT, as a dropped link); it reconnects by itself. */
  drop(): void;
  /** Resolves at the next CONNACK, with MQTT's session-present flag. */
  nextConnect(): Promise<{ sessionPresent: boolean }>;
  readonly sent: number;
  readonly replies: number;
  close(): Promise<void>;
}

export async function connectWireDevice(
  url: string,
  id: string,
  token: string,
  edgeId: string,
  options: WireDeviceOptions = {},
): Promise<WireDevice> {
  const client = await connectRetrying(url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: token,
    clean: options.clean ?? true,
    reconnectPeriod: 200,
    connectTimeout: 5000,
  });
  const seen = new Map<string, number>();
  const errors = new Map<string, string>();
  const sentAt = new Map<string, number>();
  const settledAt = new Set<string>();
  const latency = new Map<string, number>();
  const waiting = new Map<string, { settle: (outcome: string | { code: string }) => void }>();
  let repliesAfterDeadline = 0;
  const tiers: string[] = [];
  let sent = 0;
  let replies = 0;
  client.on('message', (_topic, payload) => {
    const reply = readFabricReply(payload);
    if (!reply?.id) return;
    replies++;
    seen.set(reply.id, (seen.get(reply.id) ?? 0) + 1);
    const at = sentAt.get(reply.id);
    if (at !== undefined && !latency.has(reply.id)) latency.set(reply.id, performance.now() - at);
    if (!reply.ok) errors.set(reply.id, reply.code);
    tiers.push(reply.ok ? reply.tier : 'error');
    const waiter = waiting.get(reply.id);
    if (waiter) waiter.settle(reply.ok ? `${reply.tier}${reply.degraded ? ' degraded' : ''}` : reply);
    else if (seen.get(reply.id) === 1 && sentAt.has(reply.id) && settledAt.has(reply.id))
      repliesAfterDeadline++;
  });
  // A new session (clean, or a broker that lost it) has no subscription: subscribe on every CONNACK.
  client.on('connect', () => void client.subscribeAsync(topics.reply(id), { qos: 1 }).catch(() => {}));
  await client.subscribeAsync(topics.reply(id), { qos: 1 });
  const device: WireDevice = {
    client,
    request(input, deadlineMs) {
      const requestId = device.send(input, deadlineMs, { whileOffline: true })!;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => settle({ code: 'DEADLINE_EXCEEDED' }), deadlineMs);
        const settle = (outcome: string | { code: string }) => {
          clearTimeout(timer);
          waiting.delete(requestId);
          settledAt.add(requestId);
          if (typeof outcome === 'string') resolve(outcome);
          else reject(Object.assign(new Error(outcome.code), { code: outcome.code }));
        };
        waiting.set(requestId, { settle });
      });
    },
    get repliesAfterDeadline() {
      return repliesAfterDeadline;
    },
    send(input, deadlineMs, sendOptions = {}) {
      if (!client.connected && !sendOptions.whileOffline) return undefined;
      const requestId = sendOptions.requestId ?? `${id}-${sent}`;
      sent++;
      if (!sentAt.has(requestId)) sentAt.set(requestId, performance.now());
      const payload = encodeFabricRequest({
        id: requestId,
        replyTo: topics.reply(id),
        deadlineMs,
        deviceScore: 0,
        input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: input },
      });
      client.publish(topics.infer(edgeId), Buffer.from(payload), { qos: 1 });
      return requestId;
    },
    repliesTo: (requestId) => seen.get(requestId) ?? 0,
    latencyMs: (requestId) => latency.get(requestId),
    errors,
    tiers,
    duplicates: () => [...seen].filter(([, n]) => n > 1).map(([requestId]) => requestId),
    drop: () => client.stream.destroy(),
    nextConnect: () =>
      new Promise((resolve) =>
        client.once('connect', (connack) => resolve({ sessionPresent: connack.sessionPresent })),
      ),
    get sent() {
      return sent;
    },
    get replies() {
      return replies;
    },
    close: () => client.endAsync(true),
  };
  return device;
}

/**
 * Connects as a device does: CONNACK 3 (server unavailable: e.g. an edge with no device list yet)
 * is retried, every 200 ms for up to 30 s; any other refusal is final.
 */
async function connectRetrying(url: string, options: IClientOptions): Promise<MqttClient> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      return await mqtt.connectAsync(url, options);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 3 || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
